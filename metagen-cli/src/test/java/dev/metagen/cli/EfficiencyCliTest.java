package dev.metagen.cli;

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
        stories = Path.of(System.getProperty("metagen.shared", "../../shared"), "models", "stories260K.gguf")
                .toAbsolutePath().normalize();
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
        assertTrue(j.get("batch_speedup").asDouble() > 0);
        assertTrue(j.get("ttft_speedup").asDouble() > 0);
        assertTrue(j.at("/prefix_cache/prefixHits").asLong() > 0, j.get("prefix_cache").toString());
        JsonNode s = j.get("speculative");
        assertTrue(s.get("identical_output").asBoolean(), "greedy speculative output equals plain greedy");
        assertEquals(4, s.get("verify_k").asInt());
        assertTrue(s.get("verify_cost_ratio").asDouble() > 0);
        assertFalse(s.get("draft").asText().isEmpty());
        CliTest.Result bad = CliTest.run("bench", "-m", stories.toString(), "--speculative");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--draft GGUF or --lookup"), bad.err());
    }
}
