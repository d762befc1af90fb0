package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Compile ceilings, the strategy cost model, disconnects that cancel strategies, and KV exhaustion as a clear error. */
class ServerHardeningTest {

    /** A schema of {@code n} optional string properties: small text, many grammar elements. */
    static String wideSchema(int n) {
        StringBuilder sb = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        for (int i = 0; i < n; i++) {
            sb.append(i > 0 ? "," : "").append("\"p").append(i).append("\":{\"type\":\"string\"}");
        }
        return sb.append("}}").toString();
    }

    @Test
    void aSchemaOverTheWorkLimitIs400NamingTheFieldAndTheFlag() {
        try (OpenAiServer s = TestServer.start(TestServer.stories(), TestServer.config().withConstraintLimits(65_536, 50_000, 50_000))) {
            var r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"response_format\":{\"type\":\"json_schema\","
                    + "\"json_schema\":{\"name\":\"x\",\"schema\":" + wideSchema(500) + "}}}");
            assertEquals(400, r.status(), r.body());
            JsonNode err = r.json().path("error");
            assertEquals("response_format.json_schema", err.path("param").asText());
            assertTrue(err.path("message").asText().startsWith("response_format.json_schema: too complex: more than 50000 grammar elements (server limit --max-constraint-work)"),
                    err.path("message").asText());
            // a small schema still compiles under the same limits
            var ok = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"json_schema\":" + wideSchema(3) + "}");
            assertEquals(200, ok.status(), ok.body());
        }
    }

    @Test
    void aSchemaOverTheByteLimitIs400BeforeCompiling() {
        try (OpenAiServer s = TestServer.start(TestServer.stories(), TestServer.config())) {
            String big = wideSchema(6000); // about 140 KB
            var r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"json_schema\":" + big + "}");
            assertEquals(400, r.status(), r.body());
            assertEquals("json_schema", r.json().path("error").path("param").asText());
            assertTrue(r.json().path("error").path("message").asText().contains("more than 65536 (server limit --max-constraint-bytes)"), r.body());
        }
    }

    @Test
    void aGrammarWithTooManyStatesIs400WhenItsAutomatonGrows() {
        try (OpenAiServer s = TestServer.start(TestServer.stories(), TestServer.config().withConstraintLimits(65_536, 500_000, 5))) {
            var r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":8,\"regex\":\"[a-z ]{30}\"}");
            assertEquals(400, r.status(), r.body());
            assertEquals("regex", r.json().path("error").path("param").asText());
            assertTrue(r.json().path("error").path("message").asText().startsWith("regex: too complex: more than 5 states (server limit --max-constraint-states)"), r.body());
        }
    }

    @Test
    void strategiesOverTheCostLimitsAre400NamingThePath() {
        try (OpenAiServer s = TestServer.start(TestServer.stories(), TestServer.config())) {
            var r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"strategy\":{\"type\":\"best_of_n\",\"n\":2147483647,"
                    + "\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"logprob\"}}}");
            assertEquals(400, r.status(), r.body());
            assertEquals("strategy", r.json().path("error").path("param").asText());
            assertTrue(r.json().path("error").path("message").asText().startsWith("strategy $.n: worst case 2147483647 model calls"), r.body());
            assertTrue(r.json().path("error").path("message").asText().contains("(server limit --max-strategy-calls)"), r.body());

            String nested = "{\"type\":\"sample\"}";
            for (int i = 0; i < 25; i++) {
                nested = "{\"type\":\"majority_vote\",\"n\":1,\"inner\":" + nested + "}";
            }
            var d = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"strategy\":" + nested + "}");
            assertEquals(400, d.status(), d.body());
            assertTrue(d.json().path("error").path("message").asText().contains("(server limit --max-strategy-depth)"), d.body());

            StringBuilder links = new StringBuilder("{\"kind\":\"template\",\"as\":\"t0\",\"template\":\"{prompt}{prompt}\"}");
            for (int i = 1; i < 34; i++) {
                links.append(",{\"kind\":\"template\",\"as\":\"t").append(i).append("\",\"template\":\"{t").append(i - 1).append("}{t").append(i - 1).append("}\"}");
            }
            var c = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"strategy\":{\"type\":\"chain\",\"links\":[" + links + "]}}");
            assertEquals(400, c.status(), c.body());
            assertTrue(c.json().path("error").path("message").asText().startsWith("strategy $.links[4].template: the template expands to 32 copies"), c.body());
            assertEquals(0, s.serverErrors());
        }
    }

    @Test
    void aMegabytePromptIsRefusedWithoutTokenizing() {
        try (OpenAiServer s = TestServer.start(TestServer.stories(), TestServer.config())) {
            var r = post(s, "/v1/completions", "{\"prompt\":\"" + "a ".repeat(500_000) + "\",\"max_tokens\":4}");
            assertEquals(400, r.status(), r.body());
            assertEquals("context_length_exceeded", r.json().path("error").path("code").asText());
            assertEquals("prompt", r.json().path("error").path("param").asText());
        }
    }

    /** Opens a raw connection, sends {@code body}, reads until {@code lines} lines arrived, then closes it. */
    private static void sendAndHangUp(OpenAiServer s, String body, int lines) throws Exception {
        try (Socket sock = new Socket("127.0.0.1", s.port())) {
            OutputStream out = sock.getOutputStream();
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), StandardCharsets.UTF_8));
            for (int i = 0; i < lines; i++) {
                if (in.readLine() == null) {
                    throw new AssertionError("the server closed the connection first");
                }
            }
        }
    }

    /** Waits until the model's forward count stays still for 500 ms; returns it. Fails if it keeps growing for 5 s. */
    private static int awaitQuiet(TestServer.CountingModel m) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        int last = m.forwards.get();
        while (System.nanoTime() < end) {
            Thread.sleep(500);
            int now = m.forwards.get();
            if (now == last) {
                return now;
            }
            last = now;
        }
        throw new AssertionError("the model kept running after the client went away: " + last + " forwards");
    }

    private static void disconnectStopsTheStrategy(boolean stream) throws Exception {
        TestServer.CountingModel m = new TestServer.CountingModel(TestServer.stories(), 10);
        try (OpenAiServer s = TestServer.start(m, TestServer.config().withHeartbeat(100))) {
            // about 21 sequential calls of up to 200 tokens at 10 ms a forward: tens of seconds if nothing stops it
            String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"stream\":" + stream + ",\"strategy\":{\"type\":\"self_refine\","
                    + "\"max_rounds\":10,\"stop_pattern\":\"zzqqzz\",\"inner\":{\"type\":\"sample\",\"max_tokens\":200}}}";
            sendAndHangUp(s, body, 1); // the status line: the keep-alive committed the reply, so the work is running
            int atHangUp = m.forwards.get();
            int quiet = awaitQuiet(m);
            // within a couple of heartbeats and one token: far fewer forwards than the rest of the run
            assertTrue(quiet - atHangUp < 150, "forwards after the hang-up: " + (quiet - atHangUp));
            for (int i = 0; i < 100 && m.open.get() > 0; i++) {
                Thread.sleep(20);
            }
            assertEquals(0, m.open.get(), "model states still open");
            assertEquals(0, s.serverErrors());
            // the server still serves
            assertEquals(200, post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}").status());
        }
    }

    @Test
    void aStreamedStrategyWhoseClientHangsUpIsCancelled() throws Exception {
        disconnectStopsTheStrategy(true);
    }

    @Test
    void aNonStreamedStrategyWhoseClientHangsUpIsCancelled() throws Exception {
        disconnectStopsTheStrategy(false);
    }

    /** A model whose KV memory runs out after {@code okForwards} forward calls. */
    static final class ExhaustingModel extends TestServer.CountingModel {
        final int okForwards;

        ExhaustingModel(int okForwards) {
            super(TestServer.stories());
            this.okForwards = okForwards;
        }

        @Override
        public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
            if (forwards.get() >= okForwards) {
                throw new MetagenException("KV cache memory exhausted: all 8 blocks of 16 positions are in use");
            }
            return super.forward(states, tokens);
        }
    }

    @Test
    void kvExhaustionMidStreamIsAnErrorEventThenDone() {
        try (OpenAiServer s = TestServer.start(new ExhaustingModel(6), TestServer.config())) {
            var st = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":50,\"ignore_eos\":true,\"stream\":true,\"n\":2}");
            assertEquals(200, st.status());
            List<String> ev = TestServer.events(st.body());
            assertEquals("[DONE]", ev.getLast(), st.body());
            assertTrue(ev.get(ev.size() - 2).contains("\"code\":\"kv_cache_exhausted\""), ev.get(ev.size() - 2));
        }
        try (OpenAiServer s = TestServer.start(new ExhaustingModel(0), TestServer.config())) {
            var r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":50}");
            assertEquals(503, r.status(), r.body());
            assertEquals("kv_cache_exhausted", r.json().path("error").path("code").asText());
            assertEquals("1", r.headers().firstValue("Retry-After").orElse(null));
        }
    }
}
