package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.server.OpenAiServer;
import dev.metagen.server.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code metagen eval}: a sweep killed part-way (a separate JVM, destroyed forcibly) and resumed ends with the same
 * results as an uninterrupted run with the same seed; a torn last line is redone; the same sweep runs through our own
 * server with {@code --endpoint}; bad input is a one-line error.
 */
class EvalCliTest {
    static final Path STORIES = StrategyCliTest.STORIES;
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BON = "{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"lexical\"},\"inner\":{\"type\":\"sample\"}}";
    static final String REJECT = "{\"type\":\"rejection_sampling\",\"verifier\":{\"type\":\"lexical\"},\"inner\":{\"type\":\"sample\"}}";

    static Path dataset(Path dir) throws Exception {
        Path f = dir.resolve("lexical.jsonl");
        StringBuilder b = new StringBuilder();
        String[][] words = {{"Lily", "play"}, {"girl", "toys"}, {"boy"}, {"tree"}, {"mom", "day"}, {"saw", "big"}};
        for (int i = 0; i < words.length; i++) {
            b.append("{\"id\": \"p").append(i).append("\", \"prompt\": \"Once upon a time\", \"words\": [\"")
                    .append(String.join("\", \"", words[i])).append("\"]}\n");
        }
        Files.writeString(f, b);
        return f;
    }

    static List<String> args(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "-m", STORIES.toString(), "--dataset", data.toString(), "--task", "lexical",
                "--strategy", BON, "--strategy", REJECT, "--budgets", "1,2,4,8", "-n", "24", "--temperature", "1.0",
                "--top-k", "0", "--top-p", "1", "--seed", "11", "--threads", "1", "--out", out.toString(), "--no-progress"));
        a.addAll(List.of(extra));
        return a;
    }

    static Process start(List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** The results keyed by problem/strategy/budget, without what legitimately differs between runs (wall time, reuse). */
    static Map<String, JsonNode> results(Path out) throws Exception {
        Map<String, JsonNode> m = new TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            ObjectNode r = (ObjectNode) JSON.readTree(line);
            ((ObjectNode) r.get("cost")).remove("wall_ms");
            r.remove(List.of("spent", "reused_samples"));
            stripWall(r.get("trace"));
            assertTrue(m.put(r.get("problem").asText() + "/" + r.get("strategy").asText() + "/" + r.get("budget").asInt(), r) == null,
                    "one line per problem x strategy x budget");
        }
        return m;
    }

    static void stripWall(JsonNode n) {
        if (n instanceof ObjectNode o) {
            o.remove(List.of("wall_ms", "elapsed_ms"));
            o.forEach(EvalCliTest::stripWall);
        } else if (n != null && n.isArray()) {
            n.forEach(EvalCliTest::stripWall);
        }
    }

    @Test
    void killedAndResumedRunEqualsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        Path data = dataset(dir);
        Path full = dir.resolve("full");
        Process p = start(args(data, full));
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        Map<String, JsonNode> expected = results(full);
        assertEquals(6 * 2 * 4, expected.size());

        Path cut = dir.resolve("cut");
        Path file = cut.resolve("results.jsonl");
        Process q = start(args(data, cut));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < deadline && q.isAlive() && lines(file) < 10) {
            Thread.sleep(5);
        }
        q.destroyForcibly();
        q.waitFor(30, TimeUnit.SECONDS);
        int kept = lines(file);
        assertTrue(kept >= 10 && kept < expected.size(), "killed part-way: " + kept + " of " + expected.size() + " lines");
        // a write torn by the kill: half a line at the end of the file
        Files.writeString(file, "{\"problem\": \"p5\", \"strategy\": \"best_of", StandardCharsets.UTF_8, StandardOpenOption.APPEND);

        Process r = start(args(data, cut, "--resume"));
        assertTrue(r.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, r.exitValue());
        assertEquals(expected, results(cut));
        JsonNode summary = JSON.readTree(cut.resolve("summary.json").toFile());
        assertTrue(summary.path("sweep").path("runs_resumed").asInt() >= kept - 1, summary.path("sweep").toString());
        assertEquals(expected.size(), summary.path("sweep").path("runs_resumed").asInt() + summary.path("sweep").path("runs_computed").asInt());
    }

    @Test
    void theSameSweepRunsThroughOurOwnServer(@TempDir Path dir) throws Exception {
        Path data = dataset(dir);
        try (TransformerModel model = TransformerModel.load(STORIES, new ModelOptions(1, 512));
             OpenAiServer server = OpenAiServer.start(model, "stories260K", ServerConfig.defaults().withPort(0))) {
            String url = "http://127.0.0.1:" + server.port() + "/v1";
            Path remote = dir.resolve("remote");
            List<String> a = args(data, remote, "--limit", "3");
            a.set(a.indexOf("-m") + 1, "stories260K");
            a.set(a.indexOf("--budgets") + 1, "1,2,4");
            a.addAll(List.of("--endpoint", url, "--parallel", "3")); // three problems at once against the server
            StrategyCliTest.Result r = StrategyCliTest.run(a.toArray(String[]::new));
            assertEquals(0, r.exit(), r.err());
            Map<String, JsonNode> viaHttp = results(remote);
            assertEquals(3 * 2 * 3, viaHttp.size());
            for (JsonNode row : viaHttp.values()) {
                assertTrue(row.path("cost").path("generated_tokens").asLong() > 0, row.toString());
                assertTrue(row.path("cost").path("model_calls").asLong() >= 1, row.toString());
            }
            JsonNode bon4 = viaHttp.get("p0/best_of_n/4");
            assertEquals(4, bon4.path("cost").path("model_calls").asLong(), "one HTTP call per sample");
            assertEquals(4, bon4.path("samples").asInt());
            assertTrue(Files.readString(remote.resolve("run.json")).contains(url));
            assertTrue(Files.exists(remote.resolve("report.html")));
            // the server samples with the request's seed as the local leaves do, and problems run side by side keep
            // their own seeds: the same texts, answers and tokens as a sequential local sweep
            Path local = dir.resolve("local");
            List<String> la = args(data, local, "--limit", "3");
            la.set(la.indexOf("--budgets") + 1, "1,2,4");
            StrategyCliTest.Result l = StrategyCliTest.run(la.toArray(String[]::new));
            assertEquals(0, l.exit(), l.err());
            Map<String, JsonNode> here = results(local);
            assertEquals(here.keySet(), viaHttp.keySet());
            for (String k : here.keySet()) {
                for (String field : List.of("output", "answer", "correct", "samples_correct")) {
                    assertEquals(here.get(k).get(field), viaHttp.get(k).get(field), k + " " + field);
                }
                assertEquals(here.get(k).path("cost").path("generated_tokens"), viaHttp.get(k).path("cost").path("generated_tokens"), k);
            }
        }
    }

    static int lines(Path f) throws Exception {
        if (!Files.exists(f)) {
            return 0;
        }
        byte[] b = Files.readAllBytes(f);
        int n = 0;
        for (byte x : b) {
            n += x == '\n' ? 1 : 0;
        }
        return n;
    }

    @Test
    void jsonOutputAndBadInput(@TempDir Path dir) throws Exception {
        Path data = dataset(dir);
        Path out = dir.resolve("o");
        StrategyCliTest.Result ok = StrategyCliTest.run("eval", "-m", STORIES.toString(), "--dataset", data.toString(), "--task", "lexical",
                "--strategy", BON, "--budgets", "1,2", "-n", "8", "--limit", "2", "--out", out.toString(), "--no-progress", "--json");
        assertEquals(0, ok.exit(), ok.err());
        JsonNode j = JSON.readTree(ok.out());
        assertEquals(2, j.path("points").size());
        assertEquals(2, j.path("run").path("problems").asInt());
        assertTrue(Files.exists(out.resolve("report.html")));

        String[][] bad = {
                {"--task", "nope", "metagen: unknown task 'nope' (known: gsm8k, math500, humaneval, json, lexical, custom)"},
                {"--strategy", "{\"type\": \"best_of_n\", \"scorer\": {\"type\": \"lexical\"}, \"inner\": {\"type\": \"nope\"}}",
                        "metagen: $.inner.type: unknown generator 'nope'"},
                {"--budgets", "0", "metagen: --budgets must be positive integers, got 0"},
                {"--parallel", "0", "metagen: --parallel must be >= 1, got 0"},
                {"--dataset", dir.resolve("none.jsonl").toString(), "metagen: dataset " + dir.resolve("none.jsonl") + " does not exist"},
                {"--endpoint", "ftp://example.org", "metagen: --endpoint must be an http(s)://host:port URL, got ftp://example.org"},
        };
        for (String[] c : bad) {
            List<String> a = new ArrayList<>(List.of("eval", "-m", STORIES.toString(), "--dataset", data.toString(), "--task", "lexical",
                    "--strategy", BON, "--out", dir.resolve("bad" + c[0].hashCode()).toString(), "--no-progress"));
            int i = a.indexOf(c[0]);
            if (i >= 0) {
                a.set(i + 1, c[1]);
            } else {
                a.add(c[0]);
                a.add(c[1]);
            }
            StrategyCliTest.Result r = StrategyCliTest.run(a.toArray(String[]::new));
            assertTrue(r.exit() != 0, c[0]);
            assertTrue(r.err().startsWith(c[2]), c[0] + ": " + r.err());
        }
        // running again into a finished run's folder without --resume is refused before loading anything
        StrategyCliTest.Result again = StrategyCliTest.run("eval", "-m", STORIES.toString(), "--dataset", data.toString(), "--task", "lexical",
                "--strategy", BON, "--budgets", "1,2", "--out", out.toString());
        assertEquals(2, again.exit());
        assertTrue(again.err().contains("pass --resume"), again.err());
    }

    @Test
    void namedModelsReachTheLeavesOfAnEvaluation(@TempDir Path dir) throws Exception {
        Path data = dataset(dir);
        Path copy = Files.copy(STORIES, dir.resolve("other.gguf"));
        String onOther = "{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"lexical\"},\"inner\":{\"type\":\"sample\",\"model\":\"other\"}}";
        StrategyCliTest.Result named = StrategyCliTest.run("eval", "-m", STORIES.toString(), "-m", "other=" + copy,
                "--dataset", data.toString(), "--task", "lexical", "--strategy", onOther, "--budgets", "1,2", "-n", "8",
                "--limit", "2", "--out", dir.resolve("named").toString(), "--no-progress", "--json", "--seed", "4");
        assertEquals(0, named.exit(), named.err());
        StrategyCliTest.Result plain = StrategyCliTest.run("eval", "-m", STORIES.toString(),
                "--dataset", data.toString(), "--task", "lexical", "--strategy", BON, "--budgets", "1,2", "-n", "8",
                "--limit", "2", "--out", dir.resolve("plain").toString(), "--no-progress", "--json", "--seed", "4");
        assertEquals(0, plain.exit(), plain.err());
        // the same weights under another name: the same samples, so the same accuracies
        JsonNode a = JSON.readTree(named.out()).path("points");
        JsonNode b = JSON.readTree(plain.out()).path("points");
        assertEquals(b.size(), a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(b.get(i).path("accuracy").asDouble(), a.get(i).path("accuracy").asDouble(), 0.0);
        }
        StrategyCliTest.Result unknown = StrategyCliTest.run("eval", "-m", STORIES.toString(), "--dataset", data.toString(),
                "--task", "lexical", "--strategy", onOther, "--budgets", "1", "--limit", "1", "--out", dir.resolve("u").toString(),
                "--no-progress");
        assertEquals(2, unknown.exit(), "a model the run does not name is a usage error, not an error per problem");
        assertTrue(unknown.err().contains("$.inner.model: unknown model 'other'"), unknown.err());
    }

    @Test
    void sparkIsFoundOnTheClassPathAndLocalOnlyFlagsAreRefusedBesideIt(@TempDir Path dir) throws Exception {
        Path data = dataset(dir);
        String[] common = {"eval", "-m", STORIES.toString(), "--dataset", data.toString(), "--task", "lexical", "--strategy", BON,
                "--budgets", "1", "--limit", "1", "--no-progress"};
        StrategyCliTest.Result parallel = StrategyCliTest.run(concat(common, "--out", dir.resolve("a").toString(), "--spark", "local[2]", "--parallel", "2"));
        assertEquals(2, parallel.exit(), parallel.err());
        assertTrue(parallel.err().contains("--parallel does not apply with --spark"), parallel.err());
        StrategyCliTest.Result endpoint = StrategyCliTest.run(concat(common, "--out", dir.resolve("b").toString(), "--spark", "local[2]",
                "--endpoint", "http://127.0.0.1:9/v1"));
        assertEquals(2, endpoint.exit(), endpoint.err());
        assertTrue(endpoint.err().contains("--endpoint does not apply with --spark"), endpoint.err());
        // this module's tests run without metagen-spark: the flag says what it needs instead of running locally
        StrategyCliTest.Result missing = StrategyCliTest.run(concat(common, "--out", dir.resolve("c").toString(), "--spark", "local[2]"));
        assertEquals(2, missing.exit(), missing.err());
        assertTrue(missing.err().contains("--spark needs metagen-spark and Spark on the class path"), missing.err());
        assertFalse(Files.exists(dir.resolve("c").resolve("results.jsonl")));
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
