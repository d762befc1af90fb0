package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.core.ScoreHead;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Run;
import dev.metagen.meta.Scope;
import dev.metagen.meta.score.RemoteRewardScorer;
import dev.metagen.runtime.ModelRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** vLLM's pooling endpoints on a synthesized reward model: values equal the engine's head, bad input is a 4xx. */
class ScoreEndpointsTest {
    @TempDir
    static Path dir;
    private static TransformerModel rm;
    private static TransformerModel plain;
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        Path p = dir.resolve("rm.gguf");
        ModelSynthesizer.builder().architecture("qwen3").embd(64).heads(4).kvHeads(2).layers(2).vocab(512).seed(3)
                .logitScale(0.05).scoreHead(List.of("yes", "no")).build().write(p);
        Path q = dir.resolve("plain.gguf");
        ModelSynthesizer.builder().embd(32).heads(2).layers(1).vocab(512).build().write(q);
        rm = TransformerModel.load(p);
        plain = TransformerModel.load(q);
        ModelRegistry models = ModelRegistry.of(rm, Map.of("plain", q.toString()), ref -> TransformerModel.load(Path.of(ref)));
        server = OpenAiServer.start(rm, "rm", new ChatFormatter(ChatTemplate.fallback(), rm.tokenizer()),
                new ServerConfig("127.0.0.1", 0, null, 2, 4, 1 << 20, 64, 3, 30_000, false), models);
    }

    @AfterAll
    static void stop() {
        server.close();
        rm.close();
        plain.close();
    }

    private static int[] ids(String text) {
        return rm.tokenizer().encode(text, true, false);
    }

    private static ScoreHead head() {
        return rm.scoreHead().orElseThrow();
    }

    @Test
    void scorePairsTextsAndReadsTheHead() {
        for (String path : List.of("/score", "/v1/score")) {
            var r = TestServer.post(server, path, "{\"model\":\"rm\",\"text_1\":\"hello \",\"text_2\":[\"world\",\"there\"]}");
            assertEquals(200, r.status(), r.body());
            JsonNode j = r.json();
            assertEquals("list", j.path("object").asText());
            assertEquals("score", j.path("data").path(1).path("object").asText());
            assertEquals(head().score(ids("hello world"))[0], (float) j.path("data").path(0).path("score").asDouble(), 0);
            assertEquals(head().score(ids("hello there"))[0], (float) j.path("data").path(1).path("score").asDouble(), 0);
            assertEquals(ids("hello world").length + ids("hello there").length, j.path("usage").path("prompt_tokens").asInt());
        }
    }

    @Test
    void poolingClassifyAndRerank() {
        JsonNode pool = TestServer.post(server, "/pooling", "{\"input\":\"a b c\"}").json();
        float[][] rows = head().scorePositions(ids("a b c"));
        JsonNode got = pool.path("data").path(0).path("data");
        assertEquals(rows.length, got.size());
        for (int i = 0; i < rows.length; i++) {
            assertEquals(rows[i][1], (float) got.get(i).get(1).asDouble(), 0, "output 1 at token " + i);
        }
        JsonNode cls = TestServer.post(server, "/classify", "{\"input\":[\"a b c\"]}").json().path("data").path(0);
        float[] s = head().score(ids("a b c"));
        assertEquals(s[0], cls.path("probs").path(0).asDouble(), 0, "a softmax head's outputs are its probabilities");
        assertEquals(s[0] >= s[1] ? "yes" : "no", cls.path("label").asText());
        assertEquals(2, cls.path("num_classes").asInt());
        JsonNode rr = TestServer.post(server, "/v1/rerank", "{\"query\":\"q \",\"documents\":[\"x\",\"y\",\"z\"],\"top_n\":2}").json();
        assertEquals(2, rr.path("results").size());
        double best = Math.max(head().score(ids("q x"))[0], Math.max(head().score(ids("q y"))[0], head().score(ids("q z"))[0]));
        assertEquals(best, rr.path("results").path(0).path("relevance_score").asDouble(), 0);
        assertTrue(rr.path("results").path(0).path("relevance_score").asDouble() >= rr.path("results").path(1).path("relevance_score").asDouble());
    }

    @Test
    void remoteRewardAgainstThisServerEqualsTheLocalHead() {
        String base = "http://127.0.0.1:" + server.port() + "/v1";
        Generation cand = new Generation("world", new int[0], new double[0], FinishReason.STOP, Cost.ZERO, Map.of());
        for (RemoteRewardScorer.Endpoint e : RemoteRewardScorer.Endpoint.values()) {
            var scorer = new RemoteRewardScorer(base, e, "rm", "{prompt}{candidate}", 0, Duration.ofSeconds(30));
            Scope scope = new Scope(new Run(Budget.UNLIMITED, new Cancellation()));
            double v = scope.score(scorer, Prompt.of("hello "), cand);
            assertEquals(head().score(ids("hello world"))[0], v, 1e-7, e.name());
            assertEquals(1, scope.spent().modelCalls());
            assertEquals(ids("hello world").length, scope.spent().promptTokens(), e.name());
        }
    }

    @Test
    void strategiesScoreWithTheRewardModelAndChargeItsTokens() {
        String prompt = "Once upon a time";
        var r = TestServer.post(server, "/v1/completions", "{\"prompt\":\"" + prompt + "\",\"max_tokens\":4,\"seed\":1,"
                + "\"strategy\":{\"type\":\"best_of_n\",\"n\":2,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"orm\",\"label\":\"yes\"}}}");
        assertEquals(200, r.status(), r.body());
        int p = ids(prompt).length;
        // two samples read the prompt, two orm calls read prompt + candidate
        assertTrue(r.json().path("usage").path("prompt_tokens").asInt() > 4 * p, r.body());
        var bad = TestServer.post(server, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":4,"
                + "\"strategy\":{\"type\":\"best_of_n\",\"n\":2,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"orm\",\"model\":\"plain\"}}}");
        assertEquals(400, bad.status(), bad.body());
        assertTrue(bad.json().path("error").path("message").asText().contains("$.scorer.model: model "), bad.body());
    }

    @Test
    void badInputIsA4xxNamingTheField() {
        assertError("/score", "{\"text_1\":\"a\",\"text_2\":\"b\",\"truncate_prompt_tokens\":3}", 400, "truncate_prompt_tokens");
        assertError("/score", "{\"text_1\":[\"a\",\"b\"],\"text_2\":[\"c\",\"d\",\"e\"]}", 400, "text_1");
        assertError("/score", "{\"text_1\":\"a\",\"text_2\":[\"b\",\"c\",\"d\",\"e\"]}", 400, "text_2"); // max-n is 3
        assertError("/score", "{\"text_1\":\"a\",\"text_2\":7}", 400, "text_2");
        assertError("/pooling", "{\"model\":\"plain\",\"input\":\"a\"}", 400, "model");
        assertError("/pooling", "{\"model\":\"/etc/passwd.gguf\",\"input\":\"a\"}", 404, "model");
        assertError("/classify", "{\"input\":[]}", 400, "input");
        assertError("/rerank", "{\"query\":\"q\",\"documents\":[\"d\"],\"top_n\":-1}", 400, "top_n");
        assertError("/classify", "[1]", 400, null);
        var r = TestServer.get(server, "/v1/score", null);
        assertEquals(405, r.status());
        assertEquals(200, TestServer.post(server, "/score", "{\"text_1\":\"a\",\"text_2\":\"b\"}").status(), "still serving");
        assertEquals(0, server.serverErrors());
    }

    private static void assertError(String path, String body, int status, String param) {
        var r = TestServer.post(server, path, body);
        assertEquals(status, r.status(), r.body());
        JsonNode e = r.json().path("error");
        if (param == null) {
            assertTrue(e.path("param").isNull(), r.body());
        } else {
            assertEquals(param, e.path("param").asText(), r.body());
        }
        assertTrue(!e.path("message").asText().contains("\n"), "one line: " + r.body());
    }
}
