package dev.metagen.meta.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.Stopped;
import dev.metagen.meta.tools.Tool;
import dev.metagen.meta.tools.ToolCallFormat;
import dev.metagen.meta.tools.ToolDefinition;
import dev.metagen.meta.tools.ToolResult;
import dev.metagen.meta.tools.Tools;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A model that calls tools until it answers (the tool-use loop of ReAct, Yao et al., 2023, and Toolformer-style
 * agents): each turn the inner generator continues the transcript; calls it writes in the family's format are run
 * (each charged as a tool call, within the run's budget and cancellation) and their results appended; a turn without
 * calls is the answer. At most {@code maxTurns} model turns and {@code maxToolCalls} tool calls; the trace shows
 * every turn, its calls and results.
 */
public final class ToolLoop extends MetaGenerator {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A tool the model can call: how it is declared to the model, and how a call's arguments become its input.
     *
     * @param definition the definition
     * @param tool the tool
     * @param input the input
     */
    public record LoopTool(ToolDefinition definition, Tool tool, Function<JsonNode, String> input) {
    }

    /** The default instructions: {tools} is the JSON array of declarations, {example} a call in the family's format. */
    public static final String DEFAULT_INSTRUCTIONS = "You can call these tools:\n{tools}\nTo call a tool, write {example}"
            + " and wait for its result. When you know the answer, write it without a tool call.\n\n";

    private final Generator inner;
    private final List<LoopTool> tools;
    private final int maxTurns;
    private final int maxToolCalls;
    private final ToolCallFormat format;
    private final String instructions;
    private final String resultTemplate;

    /**
     * Creates the tool loop.
     *
     * @param instructions   text put before the prompt ({tools}, {example} filled in); empty for none (a prompt that
     *                       already declares the tools, e.g. one rendered by a chat template)
     * @param resultTemplate how a result is appended ({name}, {result} filled in); null for the family's default
     * @param inner the inner
     * @param tools the tools
     * @param maxTurns the max turns
     * @param format the format
     */
    public ToolLoop(Generator inner, List<LoopTool> tools, int maxTurns, ToolCallFormat format, String instructions, String resultTemplate) {
        this(inner, tools, maxTurns, DEFAULT_MAX_TOOL_CALLS, format, instructions, resultTemplate);
    }

    /** The most tool calls a loop runs unless its spec says otherwise. */
    public static final int DEFAULT_MAX_TOOL_CALLS = 8;

    /**
     * Creates the tool loop.
     *
     * @param maxToolCalls the most tool calls the whole loop runs (a model may write many calls in one turn); calls
     *                     beyond it are answered with an error instead of running
     *
     * @param inner the inner
     * @param tools the tools
     * @param maxTurns the max turns
     * @param format the format
     * @param instructions the instructions
     * @param resultTemplate the result template
     */
    public ToolLoop(Generator inner, List<LoopTool> tools, int maxTurns, int maxToolCalls, ToolCallFormat format,
                    String instructions, String resultTemplate) {
        if (tools.isEmpty()) {
            throw new MetagenException("tool_loop: needs at least one tool");
        }
        if (maxTurns < 1) {
            throw new MetagenException("tool_loop: max_turns must be at least 1");
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (LoopTool t : tools) {
            if (!names.add(t.definition().name())) {
                throw new MetagenException("tool_loop: two tools are named '" + t.definition().name() + "'");
            }
        }
        this.inner = inner;
        this.tools = List.copyOf(tools);
        this.maxTurns = maxTurns;
        if (maxToolCalls < 0) {
            throw new MetagenException("tool_loop: max_tool_calls must be at least 0");
        }
        this.maxToolCalls = maxToolCalls;
        this.format = format;
        this.instructions = instructions;
        this.resultTemplate = resultTemplate != null ? resultTemplate : defaultResultTemplate(format);
    }

    /**
     * How each family shows a tool's result to the model after its call.
     *
     * @param f the f
     * @return the default result template
     */
    public static String defaultResultTemplate(ToolCallFormat f) {
        return switch (f) {
            case HERMES -> "\n<tool_response>\n{result}\n</tool_response>\n";
            case LLAMA3 -> "<|eom_id|><|start_header_id|>ipython<|end_header_id|>\n\n{result}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
            case MISTRAL -> "[TOOL_RESULTS]{result}[/TOOL_RESULTS]";
        };
    }

    @Override
    public String name() {
        return "tool_loop";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<ToolDefinition> defs = tools.stream().map(LoopTool::definition).toList();
        StringBuilder transcript = new StringBuilder();
        if (!instructions.isEmpty()) {
            transcript.append(instructions.replace("{tools}", ToolDefinition.toJson(defs))
                    .replace("{example}", format.write(defs.getFirst().name(), "{}")));
        }
        transcript.append(prompt.text());
        List<String> stops = new ArrayList<>(params.stop());
        if (format == ToolCallFormat.HERMES && !stops.contains("</tool_call>")) {
            stops.add("</tool_call>"); // the model waits for the result after a call
        }
        List<Map<String, Object>> turns = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("turns", turns);
        Generation last = null;
        int toolCalls = 0;
        try {
            for (int turn = 0; turn < maxTurns; turn++) {
                Generation g = scope.call(inner, Prompt.of(transcript.toString()), Seeds.params(params, turn).withStop(stops));
                last = g;
                String text = g.text();
                if (format == ToolCallFormat.HERMES && text.contains("<tool_call>") && !text.strip().endsWith("</tool_call>")) {
                    text = text + "</tool_call>"; // the stop string ended the call
                }
                ToolCallFormat.Parsed parsed = format.parse(text);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("turn", turn);
                row.put("output", g.text());
                turns.add(row);
                if (!parsed.hasCalls()) {
                    trace.put("answered", true);
                    return result(scope, g, withCounts(trace, turn + 1, toolCalls));
                }
                if (turn == maxTurns - 1) {
                    row.put("calls_not_run", parsed.calls().size()); // no turn is left to read their results
                    break;
                }
                transcript.append(text);
                List<Map<String, Object>> calls = new ArrayList<>();
                row.put("calls", calls);
                for (ChatMessage.ToolCall call : parsed.calls()) {
                    Map<String, Object> c = new LinkedHashMap<>();
                    c.put("name", call.name());
                    c.put("arguments", call.argumentsJson());
                    calls.add(c);
                    LoopTool t = tools.stream().filter(x -> x.definition().name().equals(call.name())).findFirst().orElse(null);
                    String result;
                    if (t == null) {
                        result = "error: unknown tool '" + call.name() + "' (known: " + defs.stream().map(ToolDefinition::name).toList() + ")";
                        c.put("ok", false);
                    } else if (toolCalls >= maxToolCalls) {
                        result = "error: the limit of " + maxToolCalls + " tool calls is reached; answer without tools";
                        c.put("ok", false);
                    } else {
                        toolCalls++;
                        ToolResult r = Tools.call(scope, t.tool(), t.input().apply(JSON.readTree(call.argumentsJson())));
                        result = r.ok() ? r.output().strip() : "error: " + r.error();
                        c.put("ok", r.ok());
                    }
                    c.put("result", result);
                    transcript.append(resultTemplate.replace("{name}", call.name()).replace("{result}", result));
                }
            }
        } catch (Stopped s) {
            return partial(last, s, withCounts(trace, turns.size(), toolCalls));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("parsed arguments are JSON", e);
        }
        trace.put("answered", false);
        trace.put("stopped_by", "max_turns");
        return result(scope, last, withCounts(trace, turns.size(), toolCalls));
    }

    private static Map<String, Object> withCounts(Map<String, Object> trace, int turns, int toolCalls) {
        trace.put("model_turns", turns);
        trace.put("tool_calls_run", toolCalls);
        return trace;
    }

    /**
     * The input of a tool that reads one string argument: {@code field}, else the call's only string value.
     *
     * @param field the field
     * @return the string argument
     */
    public static Function<JsonNode, String> stringArgument(String field) {
        return args -> {
            if (args.path(field).isTextual()) {
                return args.get(field).textValue();
            }
            List<String> strings = new ArrayList<>();
            args.properties().forEach(e -> {
                if (e.getValue().isTextual()) {
                    strings.add(e.getValue().textValue());
                }
            });
            return strings.size() == 1 ? strings.getFirst() : "";
        };
    }

    /**
     * A declaration with one required string parameter.
     *
     * @param name the name
     * @param description the description
     * @param field the field
     * @return the one string
     */
    public static ToolDefinition oneString(String name, String description, String field) {
        com.fasterxml.jackson.databind.node.ObjectNode p = JSON.createObjectNode().put("type", "object");
        p.putObject("properties").putObject(field).put("type", "string");
        p.putArray("required").add(field);
        return new ToolDefinition(name, description, p);
    }
}
