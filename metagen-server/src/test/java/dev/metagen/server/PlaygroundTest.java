package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.testing.HeadlessChromium;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The /ui playground on stories260K: its headers, the spec reference from the registry, the event stream of
 * /ui/run, and in headless Chromium a prompt typed, a strategy run and its tree drawn, with hostile text kept text.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PlaygroundTest {
    static final Path SHOTS = Path.of("target", "playground");
    static final String HOSTILE = "</script><img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";
    static final String MCTS = "{\"type\":\"mcts\",\"iterations\":5,\"width\":2,\"delimiter\":\" \",\"step_max_tokens\":4,\"max_steps\":3,"
            + "\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}";

    OpenAiServer server;
    HeadlessChromium chromium;

    @BeforeAll
    void start() throws Exception {
        server = TestServer.start(TestServer.stories(), TestServer.config());
        if (HeadlessChromium.available()) {
            chromium = HeadlessChromium.start(1280, 1100);
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (chromium != null) {
            chromium.close();
        }
        server.close();
    }

    String url() {
        return "http://127.0.0.1:" + server.port() + "/ui";
    }

    @Test
    void thePageKeepsToItself() {
        TestServer.Response r = TestServer.get(server, "/ui", null);
        assertEquals(200, r.status());
        String csp = r.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertTrue(csp.startsWith("default-src 'none'; script-src 'sha256-"), csp);
        assertFalse(csp.contains("unsafe-inline") || csp.contains("unsafe-eval") || csp.contains("http"), csp);
        assertTrue(csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'"), csp);
        assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElseThrow());
        assertEquals("no-store", r.headers().firstValue("Cache-Control").orElseThrow());
        // the reference lists the registry's types, with the fields their builders read
        for (String s : List.of("\"mcts\":{\"keys\":[", "\"best_of_n\":{\"keys\":[\"inner\",\"n\",\"scorer\"]",
                "\"beam\":{\"keys\":[\"beams\",\"diverse_groups\",\"diversity_penalty\",\"early_stopping\",\"length_penalty\",\"model\",\"num_return_sequences\"]")) {
            assertTrue(r.body().contains(s), s);
        }
        try {
            java.nio.file.Files.createDirectories(SHOTS);
            java.nio.file.Files.writeString(SHOTS.resolve("ui.html"), r.body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertEquals(405, TestServer.post(server, "/ui", "{}").status());
    }

    @Test
    void runStreamsLeafCallsThenTheTrace() throws Exception {
        TestServer.Response r = TestServer.post(server, "/ui/run", "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"seed\":3,"
                + "\"temperature\":0.8,\"strategy\":" + MCTS + "}");
        assertEquals(200, r.status(), r.body());
        List<JsonNode> events = events(r.body());
        JsonNode result = events.getLast();
        assertEquals("result", result.path("type").asText());
        JsonNode doc = result.path("trace");
        int nodes = doc.path("trace").path("tree").path("nodes").size();
        assertTrue(nodes > 3, "a tree: " + nodes);
        List<JsonNode> leaves = events.stream().filter(e -> e.path("type").asText().equals("leaf")).toList();
        assertEquals(nodes - 1, leaves.size(), "one event per leaf generation: each grew one node of the tree");
        assertEquals(doc.path("cost").path("generated_tokens").asLong(), leaves.stream().mapToLong(e -> e.path("generated_tokens").asLong()).sum(),
                "the leaves' tokens are what the strategy's cost counts");
        assertEquals("mcts", doc.path("strategy").asText());
        assertEquals(doc.path("tokens").size(), doc.path("token_texts").size());
        // a plain generation streams its tokens, and its top alternatives come with the trace
        r = TestServer.post(server, "/ui/run", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"seed\":3,\"logprobs\":3}");
        events = events(r.body());
        StringBuilder streamed = new StringBuilder();
        events.stream().filter(e -> e.path("type").asText().equals("token")).forEach(e -> streamed.append(e.path("text").asText()));
        doc = events.getLast().path("trace");
        assertEquals(doc.path("text").asText(), streamed.toString());
        assertEquals(8, doc.path("trace").path("top_logprobs").size());
        // the request's fields are checked as on /v1/completions, naming the field
        r = TestServer.post(server, "/ui/run", "{\"prompt\":\"x\",\"strategy\":{\"type\":\"nope\"}}");
        assertEquals(400, r.status());
        assertEquals("strategy", r.json().path("error").path("param").asText());
        r = TestServer.post(server, "/ui/run", "{\"prompt\":\"x\",\"n\":2}");
        assertEquals(400, r.status());
        assertEquals("n", r.json().path("error").path("param").asText());
    }

    @Test
    void runHonoursTheOperatorsHttpToolPolicy() throws Exception {
        String body = "{\"prompt\":\"x\",\"max_tokens\":4,\"strategy\":{\"type\":\"tool_loop\",\"max_turns\":2,"
                + "\"inner\":{\"type\":\"sample\"},\"tools\":[{\"type\":\"http\",\"name\":\"search\","
                + "\"url\":\"http://127.0.0.1:9/search\"}]}}";
        TestServer.Response refused = TestServer.post(server, "/ui/run", body);
        assertEquals(400, refused.status(), refused.body());
        assertTrue(refused.json().path("error").path("message").asText().contains("$.tools[0].url"), refused.body());
        try (OpenAiServer allowed = TestServer.start(TestServer.stories(), TestServer.config().withHttpTools(
                dev.metagen.meta.tools.HttpTool.Policy.NONE.withAllowed(List.of("http://127.0.0.1:9/"))))) {
            TestServer.Response r = TestServer.post(allowed, "/ui/run", body);
            assertEquals(200, r.status(), r.body());
            assertEquals("tool_loop", events(r.body()).getLast().path("trace").path("strategy").asText(), r.body());
        }
    }

    @Test
    void runNeedsTheKeyThePageDoesNot() {
        OpenAiServer keyed = TestServer.start(TestServer.stories(), TestServer.config().withApiKey("k3y"));
        try {
            assertEquals(200, TestServer.get(keyed, "/ui", null).status());
            assertEquals(401, TestServer.post(keyed, "/ui/run", "{\"prompt\":\"x\",\"max_tokens\":2}".getBytes(), null).status());
            assertEquals(200, TestServer.post(keyed, "/ui/run", "{\"prompt\":\"x\",\"max_tokens\":2}".getBytes(), "Bearer k3y").status());
        } finally {
            keyed.close();
        }
    }

    static List<JsonNode> events(String sse) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                out.add(TestServer.JSON.readTree(line.substring(6)));
            }
        }
        return out;
    }

    @Test
    void typeAPromptRunAStrategyAndSeeTheTree() throws Exception {
        assumeTrue(chromium != null, "needs Debian's chromium (./run-tests installs it)");
        chromium.navigate(url());
        chromium.eval("document.getElementById('prompt').focus()");
        chromium.type("Once upon a time " + HOSTILE);
        chromium.eval("(() => { const s = document.getElementById('example'); s.value = '3'; s.dispatchEvent(new Event('change')); })()");
        assertTrue(chromium.eval("JSON.parse(document.getElementById('strategy').value).type").asText().equals("mcts"));
        chromium.eval("document.getElementById('max-tokens').value = '20'");
        chromium.eval("document.getElementById('run').click()");
        chromium.waitFor("document.getElementById('trace-view').dataset.rendered === 'true'", Duration.ofSeconds(60));
        int nodes = chromium.eval("window.lastTrace.trace.tree.nodes.length").asInt();
        assertTrue(nodes > 3, "nodes: " + nodes);
        assertEquals(nodes, chromium.eval("document.querySelectorAll('#trace-view svg.mt-tree circle.node').length").asInt());
        assertEquals(nodes - 1, chromium.eval("document.querySelectorAll('#trace-view svg.mt-tree path.edge').length").asInt());
        assertTrue(chromium.eval("document.querySelectorAll('#trace-view circle.node.chosen').length").asInt() >= 2, "a chosen path");
        assertEquals(nodes - 1, chromium.eval("document.querySelectorAll('#leaves li').length").asInt(), "each leaf generation shown as it came");
        assertEquals("Once upon a time " + HOSTILE, chromium.eval("document.querySelector('#trace-view .mt-prompt').textContent").asText());
        assertTrue(chromium.eval("document.getElementById('status').textContent").asText().startsWith("done in"));
        chromium.screenshot(SHOTS.resolve("playground-mcts.png"), true);
        // then a plain generation: tokens stream in and are drawn coloured by probability
        chromium.eval("(() => { const s = document.getElementById('example'); s.value = '0'; s.dispatchEvent(new Event('change')); })()");
        chromium.eval("document.getElementById('run').click()");
        chromium.waitFor("document.getElementById('trace-view').dataset.rendered === 'true' && window.lastTrace.strategy === undefined", Duration.ofSeconds(60));
        int tokens = chromium.eval("window.lastTrace.tokens.length").asInt();
        assertEquals(tokens, chromium.eval("document.querySelectorAll('#trace-view .tok').length").asInt());
        assertEquals(chromium.eval("window.lastTrace.text").asText(), chromium.eval("document.getElementById('output').textContent").asText());
        assertTrue(chromium.eval("window.__pwned === undefined && document.querySelectorAll('img').length === 0").asBoolean(), "no markup ran");
        // a spec that does not parse: the server's one-line error, naming the field
        chromium.eval("document.getElementById('strategy').value = '{\"type\": \"nope\"}'");
        chromium.eval("document.getElementById('run').click()");
        chromium.waitFor("document.getElementById('status').classList.contains('error')", Duration.ofSeconds(30));
        assertTrue(chromium.eval("document.getElementById('status').textContent").asText().startsWith("400: "));
        assertEquals(List.of(), chromium.cspViolations(), "the policy blocked nothing of the page's own");
        chromium.screenshot(SHOTS.resolve("playground-plain.png"), true);
    }
}
