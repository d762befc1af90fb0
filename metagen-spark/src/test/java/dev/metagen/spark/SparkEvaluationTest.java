package dev.metagen.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.testing.SharedData;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.eval.Evaluation;
import dev.metagen.eval.store.ResultStore;
import dev.metagen.eval.sweep.SweepListener;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A sweep on Spark in local[2] equals the same sweep run locally, row for row; resume and Parquet output. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparkEvaluationTest {
    static final String VOTE = "{\"type\": \"majority_vote\", \"extractor\": {\"type\": \"text\"}, \"inner\": {\"type\": \"sample\"}}";
    static final String BON = "{\"type\": \"best_of_n\", \"scorer\": {\"type\": \"lexical\"}, \"inner\": {\"type\": \"sample\"}}";
    static final String GREEDY = "{\"type\": \"greedy\", \"name\": \"greedy\"}";

    SparkSession spark;
    Path dataset;
    ClusterRunner.Models models;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        dataset = writeDataset(dir.resolve("lexical.jsonl"), 6);
        models = new ClusterRunner.Models(SharedData.stories260k().toString(), Map.of(), "pure-java", 1, 256);
        spark = SparkSession.builder().master("local[2]").appName("metagen-test").config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    static Path writeDataset(Path file, int problems) throws Exception {
        String[] starts = {"Once upon a time there was a little girl named Lily", "The cat and the dog went to the park to play",
                "Tom had a red ball and he liked to throw it", "One day a big bird flew over the green tree",
                "Sue wanted to bake a cake for her mom and dad", "The sun was shining and the children ran outside"};
        String[][] words = {{"happy"}, {"play"}, {"ball"}, {"tree"}, {"cake"}, {"sun"}};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < problems; i++) {
            lines.add("{\"id\": \"p" + i + "\", \"prompt\": \"" + starts[i % starts.length] + "\", \"words\": [\"" + words[i % words.length][0] + "\"]}");
        }
        Files.write(file, lines);
        return file;
    }

    Evaluation.Options options(Path out, boolean resume) {
        return new Evaluation.Options(dataset, "lexical", null, List.of(VOTE, BON, GREEDY), List.of(1, 2, 4), null, out, 11,
                resume, new GenerationParams(12, 1.0, 0, 1.0, 0, true, List.of()), "stories260K", 1, true);
    }

    /** Rows by (problem, strategy, budget), without timings (wall times, tokens per second), which differ between any two runs. */
    static Map<String, String> byRun(Path out) {
        Map<String, String> m = new TreeMap<>();
        for (JsonNode r : ResultStore.readAll(out.resolve("results.jsonl"))) {
            JsonNode o = r.deepCopy();
            withoutTimings(o);
            m.put(r.get("problem").asText() + " " + r.get("strategy").asText() + " " + r.get("budget").asInt(), o.toString());
        }
        return m;
    }

    static void withoutTimings(JsonNode n) {
        if (n instanceof ObjectNode o) {
            o.properties().removeIf(e -> e.getKey().endsWith("_ms") || e.getKey().endsWith("_per_s"));
            o.forEach(SparkEvaluationTest::withoutTimings);
        } else if (n.isArray()) {
            n.forEach(SparkEvaluationTest::withoutTimings);
        }
    }

    /** Equal run by run, naming the first run that differs (the whole maps are too long for a message). */
    static void assertSameRuns(Map<String, String> expected, Map<String, String> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
        }
    }

    @Test
    void aSparkSweepEqualsTheLocalSweepRowForRowAndWritesParquet(@TempDir Path dir) {
        Path local = dir.resolve("local");
        Evaluation.run(Evaluation.plan(options(local, false)), WorkerModels.leaves(models), SweepListener.NONE);
        Path onSpark = dir.resolve("spark");
        Evaluation.Result r = SparkEvaluation.run(Evaluation.plan(options(onSpark, false)), models, spark, 3, SweepListener.NONE);
        Map<String, String> expected = byRun(local);
        assertEquals(6 * (3 + 3 + 1), expected.size());
        assertSameRuns(expected, byRun(onSpark));
        assertEquals(r.summary().points().size(), 7);
        for (String f : List.of("summary.json", "report.html", "accuracy_vs_tokens.png", "run.json")) {
            assertTrue(Files.exists(onSpark.resolve(f)), f);
        }
        Dataset<Row> parquet = spark.read().parquet(onSpark.resolve("results.parquet").toString());
        assertEquals(expected.size(), parquet.count());
        Row first = parquet.filter("problem = 'p3' AND strategy = 'best_of_n' AND budget = 2").first();
        JsonNode row = ResultStore.readAll(local.resolve("results.jsonl")).stream()
                .filter(x -> x.get("problem").asText().equals("p3") && x.get("strategy").asText().equals("best_of_n") && x.get("budget").asInt() == 2)
                .findFirst().orElseThrow();
        assertEquals(row.get("output").asText(), first.getAs("output"));
        assertEquals(row.get("cost").get("generated_tokens").asLong(), (long) first.getAs("generated_tokens"));
        assertEquals(row.get("correct").asBoolean(), first.getAs("correct"));
    }

    @Test
    void aResumedSparkSweepComputesOnlyTheMissingProblems(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Evaluation.run(Evaluation.plan(options(out, false)), WorkerModels.leaves(models), SweepListener.NONE);
        Map<String, String> full = byRun(out);
        // keep the runs of the first four problems, as if the driver had died after receiving their partitions
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            if (!line.contains("\"problem\":\"p4\"") && !line.contains("\"problem\":\"p5\"")) {
                kept.add(line);
            }
        }
        assertEquals(4 * 7, kept.size());
        Files.write(out.resolve("results.jsonl"), kept);
        Evaluation.Result r = SparkEvaluation.run(Evaluation.plan(options(out, true)), models, spark, 0, SweepListener.NONE);
        assertEquals(2 * 7, r.totals().runs());
        assertEquals(4 * 7, r.totals().skipped());
        assertSameRuns(full, byRun(out));
    }
}
