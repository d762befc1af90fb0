package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --parallel}, {@code bench --batch} and {@code bench --speculative} on the real stories260K model. */
class EfficiencyCliTest {
    static Path stories;

    @BeforeAll
    static void setUp() {
        stories = SharedData.stories260k();
    }

    @Test
    void parallelSamplesAreListedAndTheFirstMatchesALoneRunWithTheSeed() throws Exception {
        CliTest.Result r = CliTest.run("generate", "-m", stories.toString(), "-p", "Once upon a time", "-n", "12",
                "--seed", "5", "--parallel", "4", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals(4, j.get("sequences").size());
        assertEquals(j.get("tokens"), j.at("/sequences/0/tokens"));
        CliTest.Result lone = CliTest.run("generate", "-m", stories.toString(), "-p", "Once upon a time", "-n", "12",
                "--seed", "5", "--json");
        assertEquals(lone.json().get("tokens"), j.get("tokens"));
        long completion = 0;
        for (JsonNode seq : j.get("sequences")) {
            completion += seq.get("tokens").size();
        }
        assertEquals(completion, j.at("/usage/completion_tokens").asLong(), "usage counts every sequence");
        assertEquals(lone.json().at("/usage/prompt_tokens"), j.at("/usage/prompt_tokens"), "the shared prompt once");
        CliTest.Result bad = CliTest.run("generate", "-m", stories.toString(), "-p", "x", "--parallel", "0");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--parallel"), bad.err());
        CliTest.Result mixed = CliTest.run("generate", "-m", stories.toString(), "-p", "x", "--parallel", "2", "--beams", "2");
        assertEquals(2, mixed.exit());
    }

    @Test
    void beamOutputKeepsTheSpaceBeforeTheFirstWord() throws Exception {
        CliTest.Result r = CliTest.run("generate", "-m", stories.toString(), "-p", "Once upon a", "-n", "5", "--beams", "2", "--echo");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("Once upon a "), r.out());
    }

    @Test
    void benchBatchAndSpeculativeReportTheirRatios() throws Exception {
        CliTest.Result r = CliTest.run("bench", "-m", stories.toString(), "--prompt-tokens", "40", "--gen-tokens", "8",
                "--repetitions", "1", "--threads", "1", "--batch", "4", "--speculative", "--lookup", "--verify-k", "4", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals(4, j.get("batch").asInt());
        assertEquals(40, j.get("batch_prompt_tokens_processed").asInt(), "the shared prompt is computed once");
        // each ratio is the quotient of the two numbers printed beside it, each a median of the runs listed
        assertEquals(median(j.get("batch_runs")), j.get("batch_decode_tokens_per_s").asDouble());
        assertRatio(j, "batch_speedup", j.get("batch_decode_tokens_per_s"), j.get("decode_tokens_per_s"));
        assertRatio(j, "ttft_speedup", j.get("ttft_cold_ms"), j.get("ttft_cached_ms"));
        assertTrue(j.at("/prefix_cache/prefixHits").asLong() > 0, j.get("prefix_cache").toString());
        JsonNode s = j.get("speculative");
        assertTrue(s.get("identical_output").asBoolean(), "greedy speculative output equals plain greedy");
        assertEquals(4, s.get("verify_k").asInt());
        assertRatio(s, "speedup", s.get("speculative_decode_tokens_per_s"), s.get("plain_decode_tokens_per_s"));
        assertRatio(s, "verify_cost_ratio", s.get("verify_ms"), s.get("decode_step_ms"));
        // the draft counts agree with each other and with the 8 generated tokens
        long drafted = s.get("drafted_tokens").asLong();
        long accepted = s.get("accepted_tokens").asLong();
        long forwards = s.get("target_forwards").asLong();
        assertTrue(accepted <= drafted && forwards > 0 && forwards <= 8, s.toString());
        assertEquals(drafted == 0 ? 0.0 : (double) accepted / drafted, s.get("acceptance_rate").asDouble(), 1e-12, s.toString());
        assertEquals(8.0 / forwards, s.get("tokens_per_target_forward").asDouble(), 1e-12, s.toString());
        assertFalse(s.get("draft").asText().isEmpty());
        CliTest.Result bad = CliTest.run("bench", "-m", stories.toString(), "--speculative");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--draft GGUF or --lookup"), bad.err());
    }

    static double median(JsonNode runs) {
        double[] v = new double[runs.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = runs.get(i).asDouble();
        }
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static void assertRatio(JsonNode o, String field, JsonNode numerator, JsonNode denominator) {
        assertTrue(numerator.asDouble() > 0 && denominator.asDouble() > 0, o.toString());
        assertEquals(numerator.asDouble() / denominator.asDouble(), o.get(field).asDouble(),
                1e-12 * o.get(field).asDouble(), field + " in " + o);
    }
}
