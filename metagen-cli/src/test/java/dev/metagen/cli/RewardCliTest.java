package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reward models from the command line: synth writes a score head, generate's strategies score with it by name. */
class RewardCliTest {
    @Test
    void synthesizedRewardModelScoresBestOfN(@TempDir Path dir) throws Exception {
        Path rm = dir.resolve("rm.gguf");
        CliTest.Result s = CliTest.run("synth", "--arch", "qwen3", "--embd", "64", "--heads", "4", "--kv-heads", "2",
                "--layers", "2", "--logit-scale", "0.05", "--score-head", "yes,no", "-o", rm.toString());
        assertEquals(0, s.exit(), s.err());
        try (TransformerModel m = TransformerModel.load(rm)) {
            assertEquals(java.util.List.of("yes", "no"), m.scoreHead().orElseThrow().labels());
        }
        Path stories = SharedData.root().resolve("models/stories260K.gguf");
        CliTest.Result g = CliTest.run("generate", "--model", stories.toString(), "--model", "rm=" + rm, "-p", "Once upon a time",
                "-n", "6", "--seed", "1", "--json", "--strategy",
                "{\"type\":\"best_of_n\",\"n\":3,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"orm\",\"model\":\"rm\",\"label\":\"yes\"}}");
        assertEquals(0, g.exit(), g.err());
        JsonNode j = g.json();
        assertEquals(3 * 6 + 3, j.path("cost").path("model_calls").asInt(), "3 samples of 6 tokens and 3 scoring calls");
        double best = Double.NEGATIVE_INFINITY;
        for (JsonNode c : j.path("trace").path("candidates")) {
            double v = c.path("score").asDouble();
            assertTrue(v > 0 && v < 1, "p(yes) of a softmax head: " + c);
            best = Math.max(best, v);
        }
        assertEquals(best, j.path("trace").path("chosen_score").asDouble(), 0);
        CliTest.Result bad = CliTest.run("generate", "--model", stories.toString(), "--model", "rm=" + rm, "-p", "x", "--strategy",
                "{\"type\":\"best_of_n\",\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"prm\",\"model\":\"rm\",\"aggregate\":\"median\"}}");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("$.scorer.aggregate: unknown aggregate 'median'"), bad.err());
        CliTest.Result empty = CliTest.run("synth", "--arch", "qwen3", "--score-head", "yes,,no", "-o", dir.resolve("x.gguf").toString());
        assertEquals(1, empty.exit(), empty.err());
        assertTrue(empty.err().contains("synth: score head labels must not be empty, got [yes, , no]"), empty.err());
    }

    /**
     * The same reward model on the llama.cpp backend ({@code rm=llamacpp:FILE}, llama.cpp's rank pooling) scores as on
     * the engine: an outcome reward model under best-of-n and a head process reward model under step beam search give
     * the same choices, scores within 1e-4 and the same costs.
     */
    @Test
    void theRewardModelScoresAlikeOnLlamaCpp(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.metagen.llamacpp.LlamaCppModel.libraryAvailable(),
                "llama.cpp library not found: run ./run-tests once");
        Path rm = dir.resolve("rm.gguf");
        assertEquals(0, CliTest.run("synth", "--arch", "qwen3", "--embd", "64", "--heads", "4", "--kv-heads", "2",
                "--layers", "2", "--logit-scale", "0.05", "--score-head", "yes,no", "-o", rm.toString()).exit());
        Path stories = SharedData.root().resolve("models/stories260K.gguf");
        for (String strategy : java.util.List.of(
                "{\"type\":\"best_of_n\",\"n\":3,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"orm\",\"model\":\"rm\",\"label\":\"yes\"}}",
                "{\"type\":\"step_beam_search\",\"beam_width\":2,\"expand\":2,\"max_steps\":2,\"delimiter\":\" \",\"step_max_tokens\":3,"
                        + "\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"prm\",\"model\":\"rm\",\"label\":\"yes\","
                        + "\"step_delimiter\":\" \",\"aggregate\":\"min\"}}")) {
            JsonNode[] runs = new JsonNode[2];
            String[] refs = {rm.toString(), "llamacpp:" + rm};
            for (int k = 0; k < 2; k++) {
                CliTest.Result g = CliTest.run("generate", "--model", stories.toString(), "--model", "rm=" + refs[k], "-p",
                        "Once upon a time", "-n", "6", "--seed", "1", "--json", "--strategy", strategy);
                assertEquals(0, g.exit(), g.err());
                runs[k] = g.json();
            }
            assertEquals(runs[0].path("text"), runs[1].path("text"), strategy);
            assertEquals(runs[0].path("cost").path("model_calls"), runs[1].path("cost").path("model_calls"), strategy);
            assertEquals(runs[0].path("cost").path("prompt_tokens"), runs[1].path("cost").path("prompt_tokens"), strategy);
            double engine = runs[0].path("trace").path("chosen_score").asDouble(Double.NaN);
            double llama = runs[1].path("trace").path("chosen_score").asDouble(Double.NaN);
            assertFalse(Double.isNaN(engine), runs[0].path("trace").toString());
            assertEquals(engine, llama, 1e-4, strategy);
            JsonNode nodes = runs[0].path("trace").path("tree").path("nodes");
            for (int i = 0; i < nodes.size(); i++) {
                // every partial path the search scored, in the same order
                assertEquals(nodes.get(i).path("score").asDouble(), runs[1].path("trace").path("tree").path("nodes").get(i)
                        .path("score").asDouble(), 1e-4, "node " + i);
            }
        }
    }
}
