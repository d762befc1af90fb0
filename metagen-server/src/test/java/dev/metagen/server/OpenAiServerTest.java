package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.GenerationParams;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static dev.metagen.server.TestServer.events;
import static dev.metagen.server.TestServer.get;
import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAI-compatible endpoints over stories260K: outputs equal the generators run directly, SSE framing, fields, limits. */
class OpenAiServerTest {
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TestServer.stories(), TestServer.config());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String greedyReference(String prompt, int maxTokens) {
        var m = TestServer.stories();
        int[] ids = m.tokenizer().encode(prompt, true, false);
        return new SamplingGenerator(m)
                .generate(ids, (GenerationParams.greedy(maxTokens)).withSampling(SamplingConfig.greedy()), t -> {}).text();
    }

    @Test
    void healthAndModels() throws Exception {
        var h = get(server, "/health", null);
        assertEquals(200, h.status());
        assertEquals("ok", h.json().path("status").asText());
        var m = get(server, "/v1/models", null);
        assertEquals(200, m.status());
        assertEquals("stories260K", m.json().path("data").path(0).path("id").asText());
        assertEquals("list", m.json().path("object").asText());
        assertEquals("model", get(server, "/v1/models/stories260K", null).json().path("object").asText());
        assertEquals(404, get(server, "/v1/models/gpt-4", null).status());
    }

    @Test
    void greedyCompletionEqualsTheGeneratorRunDirectly() throws Exception {
        var r = post(server, "/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":0}");
        assertEquals(200, r.status(), r.body());
        JsonNode o = r.json();
        assertEquals("text_completion", o.path("object").asText());
        assertEquals(greedyReference("Once upon a time", 24), o.path("choices").path(0).path("text").asText());
        assertEquals("length", o.path("choices").path(0).path("finish_reason").asText());
        assertEquals(24, o.path("usage").path("completion_tokens").asInt());
        int promptTokens = TestServer.stories().tokenizer().encode("Once upon a time", true, false).length;
        assertEquals(promptTokens, o.path("usage").path("prompt_tokens").asInt());
        assertEquals(promptTokens + 24, o.path("usage").path("total_tokens").asInt());
    }

    @Test
    void streamedCompletionConcatenatesToTheSameTextAndEndsWithDone() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":20,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        var r = post(server, "/v1/completions", body);
        assertEquals(200, r.status());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> ev = events(r.body());
        assertEquals("[DONE]", ev.getLast());
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode o = TestServer.JSON.readTree(e);
            if (o.path("usage").isObject()) {
                usage = o.path("usage");
                assertEquals(0, o.path("choices").size());
                continue;
            }
            text.append(o.path("choices").path(0).path("text").asText());
            if (o.path("choices").path(0).path("finish_reason").isTextual()) {
                finish = o.path("choices").path(0).path("finish_reason").asText();
            }
        }
        assertEquals(greedyReference("Once upon a time", 20), text.toString());
        assertEquals("length", finish);
        assertEquals(20, usage.path("completion_tokens").asInt());
    }

    @Test
    void chatCompletionAndItsStream() throws Exception {
        String msgs = "\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},{\"role\":\"user\",\"content\":\"Tell me about a cat.\"}]";
        var r = post(server, "/v1/chat/completions", "{" + msgs + ",\"max_tokens\":16,\"temperature\":0}");
        assertEquals(200, r.status(), r.body());
        JsonNode o = r.json();
        assertEquals("chat.completion", o.path("object").asText());
        assertEquals("assistant", o.path("choices").path(0).path("message").path("role").asText());
        String text = o.path("choices").path(0).path("message").path("content").asText();
        assertFalse(text.isEmpty());
        var s = post(server, "/v1/chat/completions", "{" + msgs + ",\"max_tokens\":16,\"temperature\":0,\"stream\":true}");
        List<String> ev = events(s.body());
        assertEquals("[DONE]", ev.getLast());
        StringBuilder streamed = new StringBuilder();
        boolean sawRole = false;
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode c = TestServer.JSON.readTree(e);
            assertEquals("chat.completion.chunk", c.path("object").asText());
            JsonNode d = c.path("choices").path(0).path("delta");
            sawRole |= "assistant".equals(d.path("role").asText());
            streamed.append(d.path("content").asText(""));
        }
        assertTrue(sawRole);
        assertEquals(text, streamed.toString());
    }

    @Test
    void nChoicesAreSeededPerChoiceAndReproducible() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":1.0,\"n\":3,\"seed\":42}";
        JsonNode a = post(server, "/v1/completions", body).json();
        JsonNode b = post(server, "/v1/completions", body).json();
        assertEquals(3, a.path("choices").size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, a.path("choices").path(i).path("index").asInt());
            assertEquals(a.path("choices").path(i).path("text").asText(), b.path("choices").path(i).path("text").asText());
        }
        // choice i is exactly the single request with seed 42 + i
        JsonNode one = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":1.0,\"seed\":44}").json();
        assertEquals(one.path("choices").path(0).path("text").asText(), a.path("choices").path(2).path("text").asText());
        assertNotEquals(a.path("choices").path(0).path("text").asText(), a.path("choices").path(1).path("text").asText());
    }

    @Test
    void logprobsInBothFormats() throws Exception {
        JsonNode c = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"temperature\":0,\"logprobs\":3}").json();
        JsonNode lp = c.path("choices").path(0).path("logprobs");
        assertEquals(5, lp.path("tokens").size());
        assertEquals(5, lp.path("token_logprobs").size());
        assertEquals(3, lp.path("top_logprobs").path(0).size());
        assertEquals(0, lp.path("text_offset").path(0).asInt());
        String first = lp.path("tokens").path(0).asText();
        // greedy: the chosen token is the most likely one
        double best = lp.path("top_logprobs").path(0).properties().stream().mapToDouble(e -> e.getValue().asDouble()).max().orElseThrow();
        assertEquals(best, lp.path("token_logprobs").path(0).asDouble(), 1e-9);
        assertTrue(lp.path("top_logprobs").path(0).has(first));

        JsonNode ch = post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":2}").json();
        JsonNode content = ch.path("choices").path(0).path("logprobs").path("content");
        assertEquals(4, content.size());
        assertEquals(2, content.path(0).path("top_logprobs").size());
        assertTrue(content.path(0).path("bytes").isArray());
        assertTrue(content.path(0).path("logprob").asDouble() <= 0);
    }

    @Test
    void logitBiasBansAToken() throws Exception {
        JsonNode base = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":1,\"temperature\":0,\"logprobs\":0}").json();
        String firstText = base.path("choices").path(0).path("text").asText();
        int[] firstIds = TestServer.stories().tokenizer().encode("Once upon a time" + firstText, true, false);
        int banned = firstIds[firstIds.length - 1];
        JsonNode biased = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":1,\"temperature\":0,\"logit_bias\":{\"" + banned + "\":-100}}").json();
        assertNotEquals(firstText, biased.path("choices").path(0).path("text").asText());
    }

    @Test
    void stopStringsEndTheOutput() throws Exception {
        String full = greedyReference("Once upon a time", 40);
        String stop = full.substring(10, 13);
        JsonNode o = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"temperature\":0,\"stop\":" + TestServer.JSON.valueToTree(stop) + "}").json();
        assertEquals(full.substring(0, full.indexOf(stop)), o.path("choices").path(0).path("text").asText());
        assertEquals("stop", o.path("choices").path(0).path("finish_reason").asText());
    }

    @Test
    void constrainedOutputs() throws Exception {
        JsonNode re = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0.8,\"seed\":1,\"regex\":\"[a-z]+ [0-9]{2}\"}").json();
        assertTrue(Pattern.matches("[a-z]+ [0-9]{2}", re.path("choices").path(0).path("text").asText()), re.toString());

        String schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":8},\"age\":{\"type\":\"integer\"}},\"required\":[\"name\",\"age\"],\"additionalProperties\":false}";
        JsonNode js = post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"A person\"}],\"max_tokens\":60,\"temperature\":0.7,\"seed\":3,"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\",\"schema\":" + schema + "}}}").json();
        JsonNode parsed = TestServer.JSON.readTree(js.path("choices").path(0).path("message").path("content").asText());
        assertTrue(parsed.path("name").isTextual() && parsed.path("age").isIntegralNumber(), parsed.toString());

        // the same constrained request streamed: the pieces arrive token by token and add up to the same text
        String schemaReq = "{\"prompt\":\"Once upon a time\",\"max_tokens\":60,\"temperature\":0.7,\"seed\":3,\"stop\":[\"zz\"],\"json_schema\":" + schema;
        String whole = post(server, "/v1/completions", schemaReq + "}").json().path("choices").path(0).path("text").asText();
        List<String> ev = events(post(server, "/v1/completions", schemaReq + ",\"stream\":true}").body());
        StringBuilder streamed = new StringBuilder();
        int pieces = 0;
        for (String e : ev.subList(0, ev.size() - 1)) {
            String t = TestServer.JSON.readTree(e).path("choices").path(0).path("text").asText("");
            pieces += t.isEmpty() ? 0 : 1;
            streamed.append(t);
        }
        assertEquals(whole, streamed.toString());
        assertTrue(pieces > 3, "streamed in " + pieces + " pieces");

        JsonNode g = post(server, "/v1/completions", "{\"prompt\":\"Answer:\",\"max_tokens\":8,\"grammar\":\"root ::= \\\"yes\\\" | \\\"no\\\"\"}").json();
        assertTrue(List.of("yes", "no").contains(g.path("choices").path(0).path("text").asText()), g.toString());

        JsonNode obj = post(server, "/v1/completions", "{\"prompt\":\"{\",\"max_tokens\":40,\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}}").json();
        String t = obj.path("choices").path(0).path("text").asText();
        assertTrue(t.startsWith("{"), t);
    }

    @Test
    void strategyFieldRunsAMetaGenerator() throws Exception {
        var r = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"seed\":5,"
                + "\"strategy\":{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\",\"temperature\":0.9}}}");
        assertEquals(200, r.status(), r.body());
        JsonNode o = r.json();
        assertFalse(o.path("choices").path(0).path("text").asText().isEmpty());
        // usage is the strategy's whole cost: three samples
        assertTrue(o.path("usage").path("completion_tokens").asInt() > 12, o.toString());
        var chat = post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"A story\"}],\"max_tokens\":10,\"seed\":2,"
                + "\"stream\":true,\"strategy\":{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"sample\"}}}");
        assertEquals(200, chat.status(), chat.body());
        assertEquals("[DONE]", events(chat.body()).getLast());
        var bad = post(server, "/v1/completions", "{\"prompt\":\"x\",\"strategy\":{\"type\":\"best_of_n\",\"n\":0}}");
        assertEquals(400, bad.status());
        assertEquals("strategy", bad.json().path("error").path("param").asText());
        var huge = post(server, "/v1/completions", "{\"prompt\":\"x\",\"strategy\":{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"sample\",\"max_tokens\":100000}}}");
        assertEquals(400, huge.status());
        assertTrue(huge.json().path("error").path("message").asText().contains("$.inner.max_tokens"), huge.body());
        var code = post(server, "/v1/completions", "{\"prompt\":\"x\",\"strategy\":{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"python_tests\",\"tests\":\"assert True\"},\"inner\":{\"type\":\"sample\"}}}");
        assertEquals(403, code.status());
    }

    @Test
    void badInputsAre4xxNamingTheField() {
        Object[][] cases = {
                {"{\"prompt\":\"x\",\"max_tokens\":-1}", 400, "max_tokens"},
                {"{\"prompt\":\"x\",\"max_tokens\":99999999}", 400, "max_tokens"},
                {"{\"prompt\":\"x\",\"n\":1000}", 400, "n"},
                {"{\"prompt\":\"x\",\"temperature\":\"hot\"}", 400, "temperature"},
                {"{\"prompt\":\"x\",\"top_p\":0}", 400, "top_p"},
                {"{\"prompt\":\"x\",\"stop\":[1,2]}", 400, "stop"},
                {"{\"prompt\":\"x\",\"logit_bias\":{\"abc\":1}}", 400, "logit_bias"},
                {"{\"prompt\":\"x\",\"logit_bias\":{\"99999\":1}}", 400, "logit_bias"},
                {"{\"prompt\":\"x\",\"regex\":\"(\"}", 400, "regex"},
                {"{\"prompt\":\"x\",\"grammar\":\"root ::= undefined_rule\"}", 400, "grammar"},
                {"{\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"nonsense\"}}}}", 400, "response_format"},
                {"{\"prompt\":\"x\",\"response_format\":{\"type\":\"xml\"}}", 400, "response_format.type"},
                {"{\"prompt\":\"x\",\"response_format\":{\"type\":\"text\",\"extra\":1}}", 400, "response_format.extra"},
                {"{\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}", 400, "stream_options"},
                {"{\"prompt\":\"x\",\"frobnicate\":true}", 400, "frobnicate"},
                {"{\"prompt\":\"x\",\"samplers\":\"top_k;bogus\"}", 400, "samplers"},
                {"{\"prompt\":\"x\",\"regex\":\"a\",\"grammar\":\"root ::= \\\"a\\\"\"}", 400, "regex"},
                {"{\"prompt\":[1,2,99999]}", 400, "prompt"},
                {"{\"prompt\":" + TestServer.JSON.valueToTree("word ".repeat(2000)) + "}", 400, "prompt"},
                {"{\"max_tokens\":3}", 400, "prompt"},
        };
        for (Object[] c : cases) {
            var r = post(server, "/v1/completions", (String) c[0]);
            assertEquals((int) c[1], r.status(), c[0] + " -> " + r.body());
            JsonNode err = r.json().path("error");
            assertEquals(c[2], err.path("param").asText(), c[0] + " -> " + r.body());
            assertFalse(err.path("message").asText().isEmpty());
            assertTrue(err.path("type").isTextual());
            assertTrue(err.has("code"));
        }
        var chat = post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}");
        assertEquals("messages[0].role", chat.json().path("error").path("param").asText());
        var chat2 = post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":3}");
        assertEquals("top_logprobs", chat2.json().path("error").path("param").asText());
        assertEquals(400, post(server, "/v1/completions", "{\"prompt\":").status());
        assertEquals(400, post(server, "/v1/completions", "[1,2]").status());
        assertEquals(400, post(server, "/v1/completions", new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'}, null).status());
        assertEquals(404, post(server, "/v1/nothing", "{}").status());
        assertEquals(405, get(server, "/v1/completions", null).status());
        assertEquals(0, server.serverErrors());
    }

    @Test
    void bodyLimitAndApiKey() throws Exception {
        ServerConfig c = new ServerConfig("127.0.0.1", 0, "sekret", 2, 2, 1000, 64, 2, 10_000, false);
        try (OpenAiServer s = TestServer.start(TestServer.stories(), c)) {
            String body = "{\"prompt\":\"Once\",\"max_tokens\":2}";
            assertEquals(401, post(s, "/v1/completions", body.getBytes(), null).status());
            assertEquals(401, post(s, "/v1/completions", body.getBytes(), "Bearer sekreT").status());
            assertEquals(401, get(s, "/v1/models", "Bearer wrong").status());
            assertEquals(200, post(s, "/v1/completions", body.getBytes(), "Bearer sekret").status());
            assertEquals(200, get(s, "/health", null).status()); // health stays open for load balancers
            var big = post(s, "/v1/completions", ("{\"prompt\":\"" + "a".repeat(2000) + "\"}").getBytes(), "Bearer sekret");
            assertEquals(413, big.status());
            assertEquals("request_too_large", big.json().path("error").path("code").asText());
            assertEquals(400, post(s, "/v1/completions", "{\"prompt\":\"x\",\"n\":3}".getBytes(), "Bearer sekret").status());
            assertEquals(400, post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":65}".getBytes(), "Bearer sekret").status());
        }
    }

    @Test
    void codeToolLimitsAboveTheOperatorsAre400() throws Exception {
        ServerConfig c = new ServerConfig("127.0.0.1", 0, null, 2, 2, 1 << 20, 64, 2, 30_000, true)
                .withSandboxLimits(new dev.metagen.meta.tools.Sandbox.Limits(java.time.Duration.ofSeconds(2), 128L << 20, 2, 4096));
        try (OpenAiServer s = TestServer.start(TestServer.stories(), c)) {
            var over = post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"strategy\":{\"type\":\"best_of_n\",\"n\":2,"
                    + "\"scorer\":{\"type\":\"python_tests\",\"tests\":\"assert True\",\"timeout_ms\":60000},\"inner\":{\"type\":\"sample\"}}}");
            assertEquals(400, over.status(), over.body());
            assertEquals("strategy", over.json().path("error").path("param").asText());
            assertEquals("strategy $.scorer.timeout_ms: 60000 is above the operator's limit of 2000 (--sandbox-timeout-ms); a spec may only lower the sandbox's limits",
                    over.json().path("error").path("message").asText());
            var memory = post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"strategy\":{\"type\":\"chain\",\"links\":[{\"kind\":\"tool\","
                    + "\"as\":\"out\",\"template\":\"print(1)\",\"tool\":{\"type\":\"python\",\"memory_mb\":4096}}]}}");
            assertEquals(400, memory.status(), memory.body());
            assertTrue(memory.json().path("error").path("message").asText().contains("$.links[0].tool.memory_mb: 4096 is above the operator's limit of 128"), memory.body());
            assertEquals(0, s.serverErrors());
        }
    }
}
