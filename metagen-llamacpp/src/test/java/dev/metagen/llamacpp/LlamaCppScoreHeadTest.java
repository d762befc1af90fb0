package dev.metagen.llamacpp;

import dev.metagen.core.MetagenException;
import dev.metagen.core.ScoreHead;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The llama.cpp backend's score head (llama.cpp's rank pooling in a scoring context of its own) against the engine's
 * {@code ClassifierHead} on a synthesized Qwen3 yes/no reranker: labels, the score at every position and the pooled
 * score, with the model still generating between scoring calls.
 */
class LlamaCppScoreHeadTest {
    /**
     * Bound on |p_llama.cpp - p_engine| of a head output. Both keep F32 KV caches; measured on a 2-core x86 machine:
     * 2.7e-7 (printed by the test).
     */
    static final double TOLERANCE = 1e-4;
    private static final int[] SEQ = {1, 17, 250, 33, 400, 12, 99, 7, 301, 45, 88, 120};

    @TempDir
    static Path dir;
    static Path reranker;

    @BeforeAll
    static void synth() {
        Assumptions.assumeTrue(LlamaCppModel.libraryAvailable(), "llama.cpp library not found: run ./run-tests once");
        reranker = dir.resolve("qwen3-yes-no.gguf");
        ModelSynthesizer.builder().architecture("qwen3").embd(64).heads(4).kvHeads(2).layers(2).vocab(512)
                .seed(7).logitScale(0.05).scoreHead(List.of("yes", "no")).build().write(reranker);
    }

    static LlamaCppModel llama(Path p) {
        return LlamaCppModel.load(p, LlamaCppOptions.DEFAULTS.withContextLength(128).withThreads(1));
    }

    @Test
    void rankPoolingEqualsTheEnginesHeadAtEveryPosition() {
        try (TransformerModel engine = TransformerModel.load(reranker, new ModelOptions(1, 128));
             LlamaCppModel llama = llama(reranker)) {
            ScoreHead ours = engine.scoreHead().orElseThrow();
            ScoreHead theirs = llama.scoreHead().orElseThrow();
            assertEquals(List.of("yes", "no"), theirs.labels());
            assertEquals(ours.labels(), theirs.labels());
            assertTrue(theirs.probabilities());
            float[][] a = ours.scorePositions(SEQ);
            float[][] b = theirs.scorePositions(SEQ);
            assertEquals(SEQ.length, b.length);
            double worst = 0;
            double spread = 0;
            for (int i = 0; i < SEQ.length; i++) {
                assertEquals(2, b[i].length);
                assertEquals(1.0, b[i][0] + b[i][1], 1e-5, "a softmax at position " + i);
                for (int j = 0; j < 2; j++) {
                    worst = Math.max(worst, Math.abs(a[i][j] - b[i][j]));
                }
                spread = Math.max(spread, Math.abs(b[i][0] - 0.5));
            }
            for (int n : new int[] {1, 5, SEQ.length}) {
                float[] pooledOurs = ours.score(Arrays.copyOf(SEQ, n));
                float[] pooledTheirs = theirs.score(Arrays.copyOf(SEQ, n));
                for (int j = 0; j < 2; j++) {
                    worst = Math.max(worst, Math.abs(pooledOurs[j] - pooledTheirs[j]));
                }
                // causal attention: the pooled score of a prefix is the score at its last position
                assertArrayEquals(b[n - 1], pooledTheirs, (float) TOLERANCE);
            }
            System.out.printf("llama.cpp rank pooling vs the engine's head: max |dp| %.3g%n", worst);
            assertTrue(worst < TOLERANCE, "max |dp| " + worst);
            assertTrue(spread > 0.01 && spread < 0.49, "scores neither flat nor saturated: " + spread);

            // generation on the same model is untouched by the scoring context, and scoring again gives the same
            try (var s = llama.newState(); var t = engine.newState()) {
                assertEquals(engine.forward(t, SEQ).argmax(), llama.forward(s, SEQ).argmax());
            }
            // one decode of the whole sequence rounds differently from single-token decodes (measured 1.4e-7)
            assertArrayEquals(b[SEQ.length - 1], theirs.score(SEQ), 1e-5f);
        }
    }

    @Test
    void modelsWithoutAHeadHaveNoneAndBadInputIsRefused() {
        try (LlamaCppModel plain = llama(SharedData.stories260k())) {
            assertFalse(plain.scoreHead().isPresent());
        }
        try (LlamaCppModel llama = llama(reranker)) {
            ScoreHead head = llama.scoreHead().orElseThrow();
            MetagenException empty = assertThrows(MetagenException.class, () -> head.score(new int[0]));
            assertEquals("score head: no tokens given", empty.getMessage());
            MetagenException bad = assertThrows(MetagenException.class, () -> head.score(new int[] {1, 512}));
            assertEquals("score head: token id 512 is outside the vocabulary of 512", bad.getMessage());
            int cells = llama.contextLength(); // 128 asked, padded by llama.cpp
            MetagenException tooLong = assertThrows(MetagenException.class, () -> head.scorePositions(new int[cells + 1]));
            assertEquals("score head: " + (cells + 1) + " tokens do not fit the context of " + cells + " cells", tooLong.getMessage());
            // and it still scores
            assertEquals(2, head.score(new int[] {1, 2, 3}).length);
        }
    }
}
