package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.control.ConstraintSpec;
import dev.metagen.control.TokenConstraint;
import dev.metagen.control.grammar.CompileBudget;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import dev.metagen.meta.tools.ToolCallFormat;
import dev.metagen.meta.tools.ToolDefinition;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tool-calling fields of a chat request ({@code tools}, {@code tool_choice}, {@code parallel_tool_calls}),
 * checked: each tool's parameters schema compiles, names are unique, a named choice names a tool. With
 * {@code required} or a named function, the answer is generated under the compiled schema of one call
 * ({@code {"name", "arguments"}}), so it always parses and its arguments validate.
 *
 * @param tools      the declared tools
 * @param choice     auto, none, required or named
 * @param named      the tool a named choice forces, or null
 * @param parallel   whether an auto answer may make several calls
 * @param format     how the model's family writes calls (from its chat template)
 * @param constraint the constraint of a forced call (required or named), else null
 */
record ToolRequest(List<ToolDefinition> tools, Choice choice, String named, boolean parallel, ToolCallFormat format,
                   TokenConstraint constraint) {
    /** The most tools a request may declare (the OpenAI API's own limit). */
    static final int MAX_TOOLS = 128;

    enum Choice { AUTO, NONE, REQUIRED, NAMED }

    static final Set<String> FIELDS = Set.of("tools", "tool_choice", "parallel_tool_calls");

    /** Whether the model's answer is read for calls (or forced to be one). */
    boolean callsPossible() {
        return choice != Choice.NONE;
    }

    boolean forced() {
        return constraint != null;
    }

    String toolsJson() {
        return ToolDefinition.toJson(tools);
    }

    /** The request's tool fields, or null when it declares no tools; a stray tool_choice is refused. */
    static ToolRequest parse(Fields f, ServerConfig config, ChatFormatter formatter, Tokenizer tok, RequestContext ctx) {
        if (f.has("functions") || f.has("function_call")) {
            String field = f.has("functions") ? "functions" : "function_call";
            throw ApiException.invalid(field, field + " is the deprecated form of tools; send tools and tool_choice");
        }
        JsonNode t = f.get("tools");
        if (t == null || t.isNull()) {
            for (String other : List.of("tool_choice", "parallel_tool_calls")) {
                if (f.has(other)) {
                    throw ApiException.invalid(other, other + " needs tools");
                }
            }
            return null;
        }
        if (!t.isArray() || t.isEmpty()) {
            throw ApiException.invalid("tools", "tools must be a non-empty array of {\"type\": \"function\", \"function\": {...}}, got "
                    + (t.isArray() ? "an empty array" : Fields.kind(t)));
        }
        if (t.size() > MAX_TOOLS) {
            throw ApiException.invalid("tools", "tools has " + t.size() + " entries, more than the limit of " + MAX_TOOLS);
        }
        long bytes = t.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > config.maxConstraintBytes()) {
            throw ApiException.invalid("tools", "tools is too large: " + bytes + " bytes, more than "
                    + config.maxConstraintBytes() + " (server limit --max-constraint-bytes)");
        }
        List<ToolDefinition> tools = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < t.size(); i++) {
            Fields tf = Fields.of(t.get(i), "tools[" + i + "]");
            tf.requireKnown(Set.of("type", "function"));
            String type = tf.string("type", "function");
            if (!type.equals("function")) {
                throw ApiException.invalid(tf.name("type"), tf.name("type") + " must be 'function'; got '" + type + "'");
            }
            JsonNode fn = tf.get("function");
            if (fn == null) {
                throw ApiException.invalid(tf.name("function"), tf.name("function") + " is required");
            }
            Fields ff = Fields.of(fn, tf.name("function"));
            ff.requireKnown(Set.of("name", "description", "parameters", "strict"));
            String name = ff.string("name", null);
            if (name == null || !ToolDefinition.NAME.matcher(name).matches()) {
                throw ApiException.invalid(ff.name("name"), ff.name("name") + " must be 1 to 64 letters, digits, '_' or '-'"
                        + (name == null ? " (it is required)" : "; got '" + name + "'"));
            }
            if (!names.add(name)) {
                throw ApiException.invalid(ff.name("name"), "two tools are named '" + name + "'");
            }
            ff.bool("strict", false); // arguments of a forced call always follow the schema; auto calls are read as written
            JsonNode params = ff.get("parameters");
            if (params != null && !params.isObject()) {
                throw ApiException.invalid(ff.name("parameters"), ff.name("parameters") + " must be a JSON Schema object, got " + Fields.kind(params));
            }
            tools.add(new ToolDefinition(name, ff.string("description", ""), params));
        }
        Choice choice = Choice.AUTO;
        String named = null;
        JsonNode c = f.get("tool_choice");
        if (c != null && !c.isNull()) {
            if (c.isTextual()) {
                choice = switch (c.textValue()) {
                    case "auto" -> Choice.AUTO;
                    case "none" -> Choice.NONE;
                    case "required" -> Choice.REQUIRED;
                    default -> throw ApiException.invalid("tool_choice", "tool_choice must be auto, none, required or "
                            + "{\"type\": \"function\", \"function\": {\"name\": ...}}; got '" + c.textValue() + "'");
                };
            } else {
                Fields cf = Fields.of(c, "tool_choice");
                cf.requireKnown(Set.of("type", "function"));
                if (!"function".equals(cf.string("type", "function"))) {
                    throw ApiException.invalid("tool_choice.type", "tool_choice.type must be 'function'");
                }
                JsonNode fn = cf.get("function");
                if (fn == null) {
                    throw ApiException.invalid("tool_choice.function", "tool_choice.function is required");
                }
                Fields ff = Fields.of(fn, "tool_choice.function");
                ff.requireKnown(Set.of("name"));
                named = ff.string("name", null);
                if (named == null || !names.contains(named)) {
                    throw ApiException.invalid("tool_choice.function.name", "tool_choice.function.name "
                            + (named == null ? "is required" : "'" + named + "' is not one of the tools " + names));
                }
                choice = Choice.NAMED;
            }
        }
        boolean parallel = f.bool("parallel_tool_calls", true);
        // every schema compiles to a grammar (a bad one is the client's error, named), within the server's compile
        // ceilings; only a forced call's is built into a token constraint (the costly part)
        TokenConstraint forced = null;
        for (int i = 0; i < tools.size(); i++) {
            ToolDefinition d = tools.get(i);
            String field = "tools[" + i + "].function.parameters";
            if (choice == Choice.NAMED && d.name().equals(named)) {
                forced = compile(d.callSchema(), field, config, tok, ctx);
            } else {
                checkSchema(d.callSchema(), field, config, ctx);
            }
        }
        if (choice == Choice.REQUIRED) {
            forced = compile(ToolDefinition.anyCallSchema(tools), "tools", config, tok, ctx);
        }
        return new ToolRequest(List.copyOf(tools), choice, named, parallel, ToolCallFormat.forTemplate(formatter.templateSource()), forced);
    }

    private static void checkSchema(JsonNode schema, String field, ServerConfig config, RequestContext ctx) {
        try {
            RequestParser.compileBudget(config, ctx).run(() -> dev.metagen.control.json.JsonSchemaCompiler.compile(schema, false));
        } catch (CompileBudget.TooComplex e) {
            throw ApiException.invalid(field, field + ": " + e.getMessage());
        } catch (CompileBudget.Aborted e) {
            throw e;
        } catch (MetagenException | IllegalArgumentException | StackOverflowError e) {
            throw ApiException.invalid(field, "invalid JSON Schema in " + field + ": " + MetagenException.describe(e));
        }
    }

    private static TokenConstraint compile(JsonNode schema, String field, ServerConfig config, Tokenizer tok, RequestContext ctx) {
        try {
            return RequestParser.compileBudget(config, ctx).run(() -> {
                TokenConstraint c = ConstraintSpec.fromFields(Map.of("json_schema", schema.toString()), tok);
                c.start().allowed();
                return c;
            });
        } catch (CompileBudget.TooComplex e) {
            throw ApiException.invalid(field, field + ": " + e.getMessage());
        } catch (CompileBudget.Aborted e) {
            throw e;
        } catch (MetagenException | IllegalArgumentException | StackOverflowError e) {
            throw ApiException.invalid(field, "invalid JSON Schema in " + field + ": " + MetagenException.describe(e));
        }
    }

    /**
     * The conversation as the template gets it. A template that does not read {@code tools} (a model without tool
     * support) gets them in a system message, with the calls of earlier turns written as text in the family's format,
     * as llama.cpp's generic tool handler does: otherwise the tools would silently not reach the model.
     */
    List<ChatMessage> forTemplate(List<ChatMessage> messages, boolean templateReadsTools) {
        return templateReadsTools ? messages : format.withToolsInSystem(messages, toolsJson());
    }
}
