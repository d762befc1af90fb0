package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.server.OpenAiServer;
import dev.metagen.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --model NAME=URL}: a strategy leaf of {@code generate} and {@code eval} runs on a remote endpoint (our own server). */
class RemoteModelCliTest {
    private static final Path STORIES = StrategyCliTest.STORIES;
    private static TransformerModel model;
    private static OpenAiServer server;
    private static String url;

    @BeforeAll
    static void start() {
        model = TransformerModel.load(STORIES, new ModelOptions(1, 512));
        server = OpenAiServer.start(model, "stories260K", ServerConfig.defaults().withPort(0));
        url = "http://127.0.0.1:" + server.port() + "/v1";
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    private static StrategyCliTest.Result generate(String strategy, String... extra) {
        List<String> a = new ArrayList<>(List.of("generate", "-m", STORIES.toString(), "--model", "r=" + url, "-p", "Once upon a time",
                "-n", "12", "--seed", "3", "--threads", "1", "--strategy", strategy));
        a.addAll(List.of(extra));
        return StrategyCliTest.run(a.toArray(String[]::new));
    }

    @Test
    void aNamedEndpointServesAStrategyLeafWithTheCommandLinesParameters() throws Exception {
        StrategyCliTest.Result local = generate("{\"type\":\"greedy\"}");
        StrategyCliTest.Result remote = generate("{\"type\":\"greedy\",\"model\":\"r\"}");
        assertEquals(0, remote.exit(), remote.err());
        assertEquals(local.out(), remote.out());
        assertTrue(remote.err().contains("1 model calls"), remote.err());
        // a sampling flag of the command line reaches the endpoint: the leaf inherits it
        int banned = EvalCliTest.JSON.readTree(generate("{\"type\":\"greedy\"}", "--json").out()).path("tokens").path(0).asInt(-1);
        assertTrue(banned >= 0);
        StrategyCliTest.Result localBanned = generate("{\"type\":\"greedy\"}", "--logit-bias", banned + "=-inf");
        StrategyCliTest.Result remoteBanned = generate("{\"type\":\"greedy\",\"model\":\"r\"}", "--logit-bias", banned + "=-inf");
        assertEquals(0, remoteBanned.exit(), remoteBanned.err());
        assertEquals(localBanned.out(), remoteBanned.out());
        assertNotEquals(local.out(), remoteBanned.out());
    }

    @Test
    void whatTheEndpointCannotDoIsAOneLineErrorNamingIt() {
        StrategyCliTest.Result beam = generate("{\"type\":\"beam\",\"model\":\"r\"}");
        assertEquals(2, beam.exit());
        assertTrue(beam.err().contains("$.model: 'r' is a remote endpoint: a beam leaf needs a local model's logits"), beam.err());
        StrategyCliTest.Result mirostat = generate("{\"type\":\"sample\",\"model\":\"r\"}", "--mirostat", "2");
        assertNotEquals(0, mirostat.exit());
        assertTrue(mirostat.err().contains("cannot apply mirostat"), mirostat.err());
        assertEquals(1, mirostat.err().strip().lines().count(), mirostat.err());
        StrategyCliTest.Result unnamed = StrategyCliTest.run("generate", "-m", url, "-p", "x");
        assertNotEquals(0, unnamed.exit());
        assertTrue(unnamed.err().contains("a remote endpoint needs a name (--model NAME=" + url + ")"), unnamed.err());
    }

    @Test
    void evalRunsAStrategyWhoseLeafIsTheEndpoint(@TempDir Path dir) throws Exception {
        Path data = EvalCliTest.dataset(dir);
        Map<String, JsonNode> rows = new java.util.HashMap<>();
        for (String leaf : List.of("{\"type\":\"sample\"}", "{\"type\":\"sample\",\"model\":\"r\"}")) {
            Path out = dir.resolve(leaf.contains("\"r\"") ? "remote" : "local");
            StrategyCliTest.Result r = StrategyCliTest.run("eval", "-m", STORIES.toString(), "--model", "r=" + url, "--dataset",
                    data.toString(), "--task", "lexical", "--strategy",
                    "{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"lexical\"},\"inner\":" + leaf + "}", "--budgets", "2", "--limit", "2",
                    "-n", "12", "--temperature", "1.0", "--top-k", "0", "--top-p", "1", "--seed", "5", "--threads", "1",
                    "--out", out.toString(), "--no-progress");
            assertEquals(0, r.exit(), r.err());
            rows.putAll(EvalCliTest.results(out).entrySet().stream()
                    .collect(java.util.stream.Collectors.toMap(e -> out.getFileName() + "/" + e.getKey(), Map.Entry::getValue)));
        }
        for (String p : List.of("p0", "p1")) {
            JsonNode local = rows.get("local/" + p + "/best_of_n/2");
            JsonNode remote = rows.get("remote/" + p + "/best_of_n/2");
            assertEquals(local.get("output"), remote.get("output"), p);
            assertEquals(2, remote.path("cost").path("model_calls").asLong(), "one request per sample");
        }
    }
}
