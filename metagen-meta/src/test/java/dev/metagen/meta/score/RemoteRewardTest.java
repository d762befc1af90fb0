package dev.metagen.meta.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Run;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Stopped;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecException;
import dev.metagen.meta.spec.StrategySpecs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** remote_reward against vLLM's answer shapes, replayed by a local HTTP server that also records the requests. */
class RemoteRewardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static HttpServer server;
    private static final Map<String, JsonNode> requests = new ConcurrentHashMap<>();
    /** Which answer each path replays. */
    private static final Map<String, String> answers = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            requests.put(path, JSON.readTree(ex.getRequestBody().readAllBytes()));
            String file = answers.get(path);
            byte[] body;
            int status = 200;
            if (file == null) {
                body = "{\"detail\":\"Not Found\"}".getBytes();
                status = 404;
            } else {
                try (InputStream in = RemoteRewardTest.class.getResourceAsStream("/vllm/" + file)) {
                    body = in.readAllBytes();
                }
                status = file.startsWith("error") ? 400 : 200;
            }
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    private static final LeafFactory LEAVES = new LeafFactory() {
        @Override
        public Set<String> types() {
            return Set.of("sample");
        }

        @Override
        public Generator create(String type, SpecNode node) {
            return (p, params) -> null;
        }

        @Override
        public String endpointUrl(SpecNode node) {
            String name = node.string("model");
            if (!name.equals("rm")) {
                throw new StrategySpecException(node.path("model"), "'" + name + "' is not a remote endpoint");
            }
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        }
    };

    private static Scorer parse(String json) {
        Scorer[] out = new Scorer[1];
        StrategySpecs specs = new StrategySpecs(LEAVES);
        specs.registerStrategy("probe", n -> {
            out[0] = specs.scorer(n.requireChild("scorer"));
            return (p, params) -> null;
        });
        specs.parse("{\"type\":\"probe\",\"scorer\":" + json + "}");
        return out[0];
    }

    private static Generation candidate(String text) {
        return new Generation(text, new int[0], new double[0], FinishReason.STOP, Cost.ZERO, Map.of());
    }

    private static Scope scope() {
        return new Scope(new Run(Budget.UNLIMITED, new Cancellation()));
    }

    @Test
    void scoreSendsTextPairAndReadsDataScore() {
        answers.put("/score", "score.json");
        Scope s = scope();
        double v = s.score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"served_model\":\"BAAI/bge-reranker-v2-m3\"}"),
                Prompt.of("What is the capital of France?"), candidate("The capital of France is Paris."));
        assertEquals(0.998046875, v, 0);
        assertEquals("{\"model\":\"BAAI/bge-reranker-v2-m3\",\"text_1\":\"What is the capital of France?\",\"text_2\":\"The capital of France is Paris.\"}",
                requests.get("/score").toString());
        assertEquals(1, s.spent().modelCalls());
        assertEquals(21, s.spent().promptTokens(), "usage.prompt_tokens");
    }

    @Test
    void rerankClassifyAndPooling() {
        answers.put("/rerank", "rerank.json");
        Scope s = scope();
        assertEquals(0.99853515625, s.score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"endpoint\":\"rerank\"}"),
                Prompt.of("q"), candidate("The capital of France is Paris.")), 0);
        assertEquals("{\"query\":\"q\",\"documents\":[\"The capital of France is Paris.\"]}", requests.get("/rerank").toString());
        assertEquals(19, s.spent().promptTokens(), "rerank reports usage.total_tokens");

        answers.put("/classify", "classify.json");
        assertEquals(0.4340292513370514, scope().score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"endpoint\":\"classify\",\"label\":1,"
                + "\"template\":\"Q: {prompt} A: {candidate}\"}"), Prompt.of("a"), candidate("b")), 0);
        assertEquals("{\"input\":\"Q: a A: b\"}", requests.get("/classify").toString());

        answers.put("/pooling", "pooling-reward.json");
        assertEquals(1.875, scope().score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"endpoint\":\"pooling\"}"),
                Prompt.of("a"), candidate("b")), 0, "one reward per token: the last token's");
        answers.put("/pooling", "pooling-vector.json");
        assertEquals(3.25, scope().score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"endpoint\":\"pooling\"}"),
                Prompt.of("a"), candidate("b")), 0, "a pooled vector: entry label");
    }

    @Test
    void failuresAreOneLineAndBudgetsStopBeforeTheRequest() {
        answers.put("/score", "error.json");
        String m = assertThrows(MetagenException.class, () -> scope().score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\"}"),
                Prompt.of("a"), candidate("b"))).getMessage();
        assertTrue(m.startsWith("remote_reward: http://127.0.0.1:") && m.contains("/score answered HTTP 400: {\"object\":\"error\""), m);
        answers.put("/classify", "score.json");
        m = assertThrows(MetagenException.class, () -> scope().score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"endpoint\":\"classify\"}"),
                Prompt.of("a"), candidate("b"))).getMessage();
        assertTrue(m.contains("answered without a score where /classify puts it (label 0)"), m);
        requests.remove("/rerank");
        Scope none = new Scope(new Run(new Budget(Long.MAX_VALUE, 0, null), new Cancellation()));
        assertThrows(Stopped.class, () -> none.score(parse("{\"type\":\"remote_reward\",\"model\":\"rm\",\"endpoint\":\"rerank\"}"),
                Prompt.of("a"), candidate("b")));
        assertEquals(null, requests.get("/rerank"), "no request was sent");
        assertEquals("$.scorer.model: 'x' is not a remote endpoint",
                assertThrows(StrategySpecException.class, () -> parse("{\"type\":\"remote_reward\",\"model\":\"x\"}")).getMessage());
    }
}
