package dev.metagen.meta.agent;

import com.sun.net.httpserver.HttpServer;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecCost;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecException;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.tools.HttpTool;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.SandboxRequired;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tool_loop strategy with a scripted model (a real tiny model cannot call tools): calls run and their results
 * reach the next turn, costs count every model and tool call, max_turns, budgets and cancellation stop it cleanly,
 * and it composes under best_of_n with exact costs.
 */
class ToolLoopTest {
    static final GenerationParams P = new GenerationParams(32, 7, 0, 1.0, 0, true, List.of());
    private static final Pattern RESULT = Pattern.compile("<tool_response>\\n([^\\n]*)\\n</tool_response>");

    /** A leaf whose answer is a function of its prompt; 5 generated tokens and one model call per turn. */
    static LeafFactory scripted(Function<String, String> answer, List<String> prompts) {
        Generator g = (prompt, params) -> {
            prompts.add(prompt.text());
            String text = answer.apply(prompt.text());
            // the stop string ends a call before its closing tag, as a real model's would
            for (String s : params.stop()) {
                int at = text.indexOf(s);
                if (at >= 0) {
                    text = text.substring(0, at);
                }
            }
            return new Generation(text, new int[]{1, 2, 3, 4, 5}, new double[5], FinishReason.STOP, new Cost(3, 5, 1, 0, Duration.ZERO), Map.of());
        };
        return new LeafFactory() {
            @Override
            public Set<String> types() {
                return Set.of("script");
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return g;
            }
        };
    }

    /** Calls the calculator until a result is in the prompt, then answers with it. */
    static String calculatorAgent(String prompt) {
        Matcher m = RESULT.matcher(prompt);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return last != null ? "The answer is " + last + "."
                : "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"}}\n</tool_call>";
    }

    static Generation run(StrategySpecs specs, String spec, Budget budget, Cancellation c) {
        StrategySpecs.Strategy s = specs.parse(spec);
        return ((MetaGenerator) s.generator()).generate(Prompt.of("What is 6 times 7?"), P, budget, c);
    }

    private static final String LOOP = "{\"type\":\"tool_loop\",\"inner\":{\"type\":\"script\"},\"max_turns\":4,\"tools\":[{\"type\":\"calculator\"}]}";

    @Test
    void callsTheToolAndAnswersWithItsResult() {
        List<String> prompts = Collections.synchronizedList(new ArrayList<>());
        Generation g = run(new StrategySpecs(scripted(ToolLoopTest::calculatorAgent, prompts)), LOOP, Budget.UNLIMITED, new Cancellation());
        assertEquals("The answer is 42.", g.text());
        assertEquals(FinishReason.STOP, g.finish());
        assertEquals(2, g.cost().modelCalls());
        assertEquals(1, g.cost().toolCalls());
        assertEquals(10, g.cost().generatedTokens());
        assertEquals(6, g.cost().promptTokens());
        // the first turn saw the declarations; the second the call and its result
        assertTrue(prompts.getFirst().contains("\"name\":\"calculator\"") && prompts.getFirst().endsWith("What is 6 times 7?"));
        assertTrue(prompts.get(1).endsWith("</tool_call>\n<tool_response>\n42\n</tool_response>\n"), prompts.get(1));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> turns = (List<Map<String, Object>>) g.trace().get("turns");
        assertEquals(2, turns.size());
        @SuppressWarnings("unchecked")
        Map<String, Object> call = ((List<Map<String, Object>>) turns.getFirst().get("calls")).getFirst();
        assertEquals("calculator", call.get("name"));
        assertEquals("42", call.get("result"));
        assertEquals(true, g.trace().get("answered"));
        assertEquals("tool_loop", g.trace().get("strategy"));
    }

    @Test
    void maxTurnsEndsALoopThatNeverAnswers() {
        List<String> prompts = new ArrayList<>();
        String always = "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}\n</tool_call>";
        Generation g = run(new StrategySpecs(scripted(p -> always, prompts)), LOOP.replace("\"max_turns\":4", "\"max_turns\":3"),
                Budget.UNLIMITED, new Cancellation());
        assertEquals(3, g.cost().modelCalls());
        assertEquals(2, g.cost().toolCalls(), "the last turn's call is not run: no turn is left to read it");
        assertEquals("max_turns", g.trace().get("stopped_by"));
        assertEquals(false, g.trace().get("answered"));
    }

    @Test
    void maxToolCallsBoundsCallsWrittenInOneTurn() {
        List<String> prompts = new ArrayList<>();
        String many = "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}\n</tool_call>".repeat(5);
        AtomicInteger turn = new AtomicInteger();
        // the stop string would cut the turn after the first call: this model writes its calls without it
        Generator g = (prompt, params) -> {
            prompts.add(prompt.text());
            String text = turn.getAndIncrement() == 0 ? many : "done";
            return new Generation(text, new int[]{1}, new double[1], FinishReason.STOP, new Cost(1, 1, 1, 0, Duration.ZERO), Map.of());
        };
        ToolLoop loop = new ToolLoop(g, List.of(new ToolLoop.LoopTool(ToolLoop.oneString("calculator", "", "expression"),
                new dev.metagen.meta.tools.Calculator(), ToolLoop.stringArgument("expression"))), 4, 3,
                dev.metagen.meta.tools.ToolCallFormat.HERMES, "", null);
        Generation out = loop.generate(Prompt.of("x"), P, Budget.UNLIMITED, new Cancellation());
        assertEquals("done", out.text());
        assertEquals(3, out.cost().toolCalls());
        assertEquals(2, prompts.get(1).split("the limit of 3 tool calls is reached", -1).length - 1);
    }

    @Test
    void unknownToolsAndBadInputAreResultsNotFailures() {
        List<String> prompts = new ArrayList<>();
        AtomicInteger turn = new AtomicInteger();
        Generation g = run(new StrategySpecs(scripted(p -> switch (turn.getAndIncrement()) {
            case 0 -> "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n</tool_call>";
            case 1 -> "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"import os\"}}\n</tool_call>";
            default -> "done";
        }, prompts)), LOOP, Budget.UNLIMITED, new Cancellation());
        assertEquals("done", g.text());
        assertEquals(1, g.cost().toolCalls(), "an unknown tool is not called");
        assertTrue(prompts.get(1).contains("error: unknown tool 'search' (known: [calculator])"));
        assertTrue(prompts.get(2).contains("<tool_response>\nerror: "), prompts.get(2));
    }

    @Test
    void budgetsStopItCleanly() {
        List<String> prompts = new ArrayList<>();
        Generation g = run(new StrategySpecs(scripted(ToolLoopTest::calculatorAgent, prompts)), LOOP, Budget.calls(1), new Cancellation());
        assertEquals(FinishReason.BUDGET, g.finish());
        assertEquals(1, g.cost().modelCalls());
        assertTrue(g.cost().toolCalls() <= 1);
        assertTrue(g.trace().containsKey("stopped"));
        assertTrue(g.trace().containsKey("turns"), "the trace of a stopped loop still shows its turns");
    }

    @Test
    void cancellationStopsBeforeTheNextToolCall() {
        Cancellation c = new Cancellation();
        List<String> prompts = new ArrayList<>();
        Generation g = run(new StrategySpecs(scripted(p -> {
            c.cancel(); // the client goes away while the model writes its call
            return calculatorAgent(p);
        }, prompts)), LOOP, Budget.UNLIMITED, c);
        assertEquals(FinishReason.CANCELLED, g.finish());
        assertEquals(1, g.cost().modelCalls());
        assertEquals(0, g.cost().toolCalls());
    }

    @Test
    void composesUnderBestOfNWithExactCosts() {
        List<String> prompts = Collections.synchronizedList(new ArrayList<>());
        Generation g = run(new StrategySpecs(scripted(ToolLoopTest::calculatorAgent, prompts)),
                "{\"type\":\"best_of_n\",\"n\":3,\"inner\":" + LOOP + ",\"scorer\":{\"type\":\"contains\",\"words\":[\"42\"]}}",
                Budget.UNLIMITED, new Cancellation());
        assertEquals("The answer is 42.", g.text());
        assertEquals(6, g.cost().modelCalls());
        assertEquals(3, g.cost().toolCalls());
        assertEquals(30, g.cost().generatedTokens());
        // a budget of 4 model calls lets two loops finish and stops the third cleanly
        Generation cut = run(new StrategySpecs(scripted(ToolLoopTest::calculatorAgent, prompts)),
                "{\"type\":\"best_of_n\",\"n\":3,\"inner\":" + LOOP + ",\"scorer\":{\"type\":\"contains\",\"words\":[\"42\"]}}",
                Budget.calls(4), new Cancellation());
        assertEquals(FinishReason.BUDGET, cut.finish());
        assertEquals(4, cut.cost().modelCalls());
    }

    @Test
    void pythonToolRunsInTheSandboxAsOneToolCall() {
        SandboxRequired.check();
        List<String> prompts = new ArrayList<>();
        Generation g = run(new StrategySpecs(scripted(p -> p.contains("<tool_response>") ? "Done: " + p.substring(p.lastIndexOf("<tool_response>\n") + 16).lines().findFirst().orElse("")
                : "<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"print(6*7)\"}}\n</tool_call>", prompts)),
                "{\"type\":\"tool_loop\",\"inner\":{\"type\":\"script\"},\"tools\":[{\"type\":\"python\",\"timeout_ms\":3000}]}",
                Budget.UNLIMITED, new Cancellation());
        assertEquals("Done: 42", g.text());
        assertEquals(1, g.cost().toolCalls());
    }

    @Test
    void httpToolsOnlyOnUrlsTheOperatorAllows() throws Exception {
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        List<String> bodies = Collections.synchronizedList(new ArrayList<>());
        http.createContext("/weather", ex -> {
            bodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] out = "{\"temperature\": 18}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        http.createContext("/big", ex -> {
            byte[] out = new byte[5000];
            ex.sendResponseHeaders(200, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        http.start();
        try {
            String base = "http://127.0.0.1:" + http.getAddress().getPort();
            String spec = "{\"type\":\"tool_loop\",\"inner\":{\"type\":\"script\"},\"tools\":[{\"type\":\"http\",\"name\":\"weather\","
                    + "\"url\":\"" + base + "/weather\",\"description\":\"Weather in a city\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{\"city\":{\"type\":\"string\"}}}}]}";
            List<String> prompts = new ArrayList<>();
            LeafFactory agent = scripted(p -> p.contains("<tool_response>") ? "It is " + p.substring(p.lastIndexOf("<tool_response>\n") + 16).lines().findFirst().orElse("")
                    : "<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", prompts);
            HttpTool.Policy allowed = HttpTool.Policy.NONE.withAllowed(List.of(base + "/weather"));
            Generation g = run(new StrategySpecs(agent, Sandbox.Limits.DEFAULT, allowed), spec, Budget.UNLIMITED, new Cancellation());
            assertEquals("It is {\"temperature\": 18}", g.text());
            assertEquals(List.of("{\"city\":\"Paris\"}"), bodies);
            assertEquals(1, g.cost().toolCalls());
            assertTrue(prompts.getFirst().contains("\"name\":\"weather\",\"description\":\"Weather in a city\""));

            // by default no URL is allowed; an unlisted URL is refused naming the field
            StrategySpecException none = assertThrows(StrategySpecException.class, () -> new StrategySpecs(agent).parse(spec));
            assertTrue(none.getMessage().startsWith("$.tools[0].url: ") && none.getMessage().contains("--allow-tool-url"), none.getMessage());
            StrategySpecException other = assertThrows(StrategySpecException.class, () -> new StrategySpecs(agent, Sandbox.Limits.DEFAULT, allowed)
                    .parse(spec.replace("/weather\"", "/big\"")));
            assertTrue(other.getMessage().startsWith("$.tools[0].url: "), other.getMessage());
            // a host entry allows every path on it; a response over the limit is a failed call
            HttpTool big = new HttpTool("big", base + "/big", new HttpTool.Policy(List.of("127.0.0.1"), Duration.ofSeconds(5), 100, 1000));
            assertFalse(big.run("{}").ok());
            assertTrue(big.run("{}").error().contains("limit of 1000 bytes"));
            assertTrue(big.run("x".repeat(200)).error().contains("more than the limit of 100"));
            assertEquals("only http and https URLs with a host can be called", HttpTool.Policy.NONE.withAllowed(List.of("file")).refusal("file:///etc/passwd"));
        } finally {
            http.stop(0);
        }
    }

    @Test
    void badSpecsNameTheField() {
        StrategySpecs specs = new StrategySpecs(scripted(p -> "", new ArrayList<>()));
        assertTrue(assertThrows(StrategySpecException.class, () -> specs.parse(LOOP.replace("calculator", "shell"))).getMessage()
                .startsWith("$.tools[0].type: unknown tool 'shell'"));
        assertTrue(assertThrows(StrategySpecException.class, () -> specs.parse(LOOP.replace("\"max_turns\":4", "\"format\":\"xml\"")))
                .getMessage().startsWith("$.format: "));
        assertTrue(assertThrows(StrategySpecException.class, () -> specs.parse(LOOP.replace("\"max_turns\":4", "\"max_turns\":0")))
                .getMessage().startsWith("$.max_turns"));
        assertTrue(assertThrows(StrategySpecException.class, () -> specs.parse(LOOP.replace("[{\"type\":\"calculator\"}]", "[]")))
                .getMessage().startsWith("$.tools"));
        // the worst case is max_turns model calls: checked against the operator's limit before anything runs
        var tree = assertDoesNotThrowParse(LOOP.replace("\"max_turns\":4", "\"max_turns\":500"));
        var limits = new SpecCost.Limits(256, 1 << 20, 6, 16, "a", "b", "c", "d");
        StrategySpecException over = assertThrows(StrategySpecException.class, () -> SpecCost.check(tree, 16, limits));
        assertTrue(over.getMessage().startsWith("$.max_turns: "), over.getMessage());
    }

    private static com.fasterxml.jackson.databind.JsonNode assertDoesNotThrowParse(String s) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
