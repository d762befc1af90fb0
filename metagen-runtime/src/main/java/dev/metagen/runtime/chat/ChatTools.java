package dev.metagen.runtime.chat;

import dev.metagen.core.MetagenException;
import dev.metagen.meta.tools.ToolDefinition;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The tools a chat call declares and whether its answer may call one, must call one (any, or the named tool) or must
 * not: OpenAI's {@code tools} and {@code tool_choice} as the LangChain4j and Spring AI adapters give them. A required
 * call is generated under the JSON Schema of one call, so its arguments always parse and validate.
 *
 * @param tools  the declared tools (names unique)
 * @param choice auto, none or required
 * @param named  with {@link Choice#REQUIRED}, the one tool that must be called; null: any of them
 */
public record ChatTools(List<ToolDefinition> tools, Choice choice, String named) {
    /** Whether the answer may call a tool, must, or must not. */
    public enum Choice { AUTO, NONE, REQUIRED }

    public ChatTools {
        tools = List.copyOf(tools);
        if (tools.isEmpty()) {
            throw new MetagenException("tools: at least one tool is needed");
        }
        choice = choice == null ? Choice.AUTO : choice;
        Set<String> names = new HashSet<>();
        for (ToolDefinition t : tools) {
            if (!ToolDefinition.NAME.matcher(t.name()).matches()) {
                throw new MetagenException("tool name must be 1 to 64 letters, digits, '_' or '-'; got '" + t.name() + "'");
            }
            if (!names.add(t.name())) {
                throw new MetagenException("two tools are named '" + t.name() + "'");
            }
        }
        if (named != null) {
            if (choice != Choice.REQUIRED) {
                throw new MetagenException("a named tool choice ('" + named + "') forces that call; the choice must be required, not " + choice);
            }
            if (!names.contains(named)) {
                throw new MetagenException("tool choice '" + named + "' is not one of the tools " + names);
            }
        }
    }

    /** Whether the answer is read for calls (or forced to be one). */
    public boolean callsPossible() {
        return choice != Choice.NONE;
    }

    public boolean forced() {
        return choice == Choice.REQUIRED;
    }

    /** The tools as the JSON array chat templates read as {@code tools}. */
    public String toolsJson() {
        return ToolDefinition.toJson(tools);
    }

    /** The JSON Schema of the forced call: the named tool's call, or one call to any tool. */
    String callSchema() {
        List<ToolDefinition> of = named == null ? tools : tools.stream().filter(t -> t.name().equals(named)).toList();
        return ToolDefinition.anyCallSchema(of).toString();
    }
}
