package dev.metagen.meta.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.agent.Debate;
import dev.metagen.meta.agent.ToolLoop;
import dev.metagen.meta.tools.Calculator;
import dev.metagen.meta.tools.HttpTool;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.ToolCallFormat;
import dev.metagen.meta.tools.ToolDefinition;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Spec types of agents: {@code debate}, and {@code tool_loop} with its tools ({@code calculator}, {@code python}, {@code http}). */
final class AgentSpecs {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AgentSpecs() {
    }

    static void register(StrategySpecs specs) {
        specs.registerStrategy("debate", n -> {
            List<Generator> agents = new ArrayList<>();
            if (n.has("agents")) {
                if (n.has("inner") || n.has("n")) {
                    throw new StrategySpecException(n.path("agents"), "give either agents or inner with n, not both");
                }
                for (SpecNode a : n.children("agents", 2)) {
                    agents.add(specs.generator(a));
                }
            } else {
                Generator inner = specs.generator(n.requireChild("inner"));
                int count = n.integer("n", 3, 2);
                for (int i = 0; i < count; i++) {
                    agents.add(inner);
                }
            }
            int rounds = n.integer("rounds", 2, 0);
            String template = n.string("template", Debate.TEMPLATE);
            var extractor = specs.extractor(n.child("extractor"));
            Generator aggregator = n.has("aggregator") ? specs.generator(n.requireChild("aggregator")) : null;
            if (!n.has("aggregator") && n.has("aggregator_template")) {
                throw new StrategySpecException(n.path("aggregator_template"), "needs an aggregator");
            }
            String aggregatorTemplate = n.string("aggregator_template", Debate.AGGREGATOR_TEMPLATE);
            try {
                return new Debate(agents, rounds, template, extractor, aggregator, aggregatorTemplate);
            } catch (MetagenException e) {
                throw new StrategySpecException(n.path(), e.getMessage());
            }
        });
        specs.registerStrategy("tool_loop", n -> {
            var inner = specs.generator(n.requireChild("inner"));
            int maxTurns = n.integer("max_turns", 4, 1);
            int maxToolCalls = n.integer("max_tool_calls", ToolLoop.DEFAULT_MAX_TOOL_CALLS, 0);
            ToolCallFormat format;
            try {
                format = ToolCallFormat.named(n.string("format", "hermes"));
            } catch (IllegalArgumentException e) {
                throw new StrategySpecException(n.path("format"), e.getMessage());
            }
            List<ToolLoop.LoopTool> tools = new ArrayList<>();
            for (SpecNode t : n.children("tools", 1)) {
                tools.add(tool(t, specs));
            }
            String instructions = n.string("instructions", ToolLoop.DEFAULT_INSTRUCTIONS);
            String results = n.has("result_template") ? n.string("result_template") : null;
            try {
                return new ToolLoop(inner, tools, maxTurns, maxToolCalls, format, instructions, results);
            } catch (MetagenException e) {
                throw new StrategySpecException(n.path("tools"), MetagenException.describe(e).replaceFirst("^tool_loop: ", ""));
            }
        });
    }

    private static ToolLoop.LoopTool tool(SpecNode n, StrategySpecs specs) {
        String type = n.type("tool");
        ToolLoop.LoopTool t = switch (type) {
            case "calculator" -> new ToolLoop.LoopTool(ToolLoop.oneString("calculator",
                    "Evaluates an arithmetic expression (+ - * / % ^, parentheses, sqrt, abs, ln, exp)", "expression"),
                    new Calculator(), ToolLoop.stringArgument("expression"));
            case "python" -> new ToolLoop.LoopTool(ToolLoop.oneString("python",
                    "Runs a Python 3 program in a sandbox and returns what it prints", "code"),
                    Sandbox.python(CompositionSpecs.limits(n, specs.sandboxCeiling())), ToolLoop.stringArgument("code"));
            case "http" -> {
                String name = n.string("name");
                if (!ToolDefinition.NAME.matcher(name).matches()) {
                    throw new StrategySpecException(n.path("name"), "a tool name is 1 to 64 letters, digits, '_' or '-'; got '" + name + "'");
                }
                String url = n.string("url");
                HttpTool http;
                try {
                    http = new HttpTool(name, url, specs.httpToolPolicy());
                } catch (IllegalArgumentException e) {
                    throw new StrategySpecException(n.path("url"), e.getMessage());
                }
                JsonNode params = JSON.valueToTree(n.values(Set.of("parameters")).get("parameters"));
                if (params != null && !params.isNull() && !params.isObject()) {
                    throw new StrategySpecException(n.path("parameters"), "parameters must be a JSON Schema object");
                }
                yield new ToolLoop.LoopTool(new ToolDefinition(name, n.string("description", ""), params == null || params.isNull() ? null : params),
                        http, JsonNode::toString);
            }
            default -> throw new StrategySpecException(n.path("type"), "unknown tool '" + type + "' (known: calculator, python, http)");
        };
        n.requireAllUsed();
        return t;
    }
}
