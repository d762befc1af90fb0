package dev.metagen.engine.testing;

import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Checks the reference harnesses themselves against the golden greedy ids of stories260K (shared/models/README.md,
 * from a float64 re-implementation): both llama.cpp builds, in float32, reproduce all 256 of them.
 */
class LlamaCppReferenceTest {

    private static LlamaCppModel llama;

    @BeforeAll
    static void start() {
        llama = LlamaCppModel.open(SharedData.stories260k(), 512, 1);
    }

    @AfterAll
    static void stop() {
        if (llama != null) {
            llama.close();
        }
    }

    @Test
    void nodeLlamaCppGreedyMatchesAllGoldenIds() {
        int[] golden = Golden.stories260kGreedy();
        int[] got = llama.greedy(new int[] {1}, 256);
        assertEquals(256, got.length);
        // measured: node-llama-cpp 3.22.1 agrees on all 256 ids
        assertEquals(256, Golden.agreement(golden, got), () -> "llama.cpp diverges from the golden ids at step "
                + Golden.agreement(golden, got) + ": " + Arrays.toString(got));
    }

    @Test
    void probabilitiesFollowTheGreedyPathAndAreADistribution() {
        int[] golden = Golden.stories260kGreedy();
        List<LlamaCppModel.Step> steps = llama.probs(new int[] {1}, 16, 0);
        assertEquals(16, steps.size());
        for (int i = 0; i < steps.size(); i++) {
            LlamaCppModel.Step s = steps.get(i);
            assertEquals(golden[i], s.token(), "greedy token at step " + i);
            assertEquals(s.token(), s.ids()[0], "the greedy token is the most probable one");
            assertEquals(512, s.ids().length, "top 0 returns the whole vocabulary");
            double sum = 0;
            for (int k = 0; k < s.probs().length; k++) {
                sum += s.probs()[k];
                if (k > 0) {
                    assertTrue(s.probs()[k] <= s.probs()[k - 1], "sorted descending");
                }
            }
            assertEquals(1.0, sum, 1e-4, "probabilities at step " + i + " sum to 1");
        }
        // stories260K is confident about "Once" after BOS, but not certain: a real distribution, not one-hot
        assertEquals(0.7837, steps.get(0).probOf(403), 1e-3);
        assertEquals(0.1555, steps.get(0).probOf(385), 1e-3);
    }

    @Test
    void topNIsThePrefixOfTheFullDistribution() {
        List<LlamaCppModel.Step> full = llama.probs(new int[] {1, 403}, 3, 0);
        List<LlamaCppModel.Step> top = llama.probs(new int[] {1, 403}, 3, 5);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(Arrays.copyOf(full.get(i).ids(), 5), top.get(i).ids());
            assertArrayEquals(Arrays.copyOf(full.get(i).probs(), 5), top.get(i).probs());
        }
    }

    @Test
    void badRequestsAreErrorsAndTheProcessSurvives() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> llama.greedy(new int[] {1, 512}, 2));
        assertTrue(e.getMessage().contains("token id 512 is outside the vocabulary [0, 512)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> llama.greedy(new int[] {1}, 4096));
        assertTrue(e.getMessage().contains("exceed the context size"), e.getMessage());
        assertArrayEquals(Arrays.copyOf(Golden.stories260kGreedy(), 4), llama.greedy(new int[] {1}, 4));
    }

    @Test
    void missingModelIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaCppModel.open(SharedData.models().resolve("no-such-model.gguf"), 64, 1).close());
        assertTrue(e.getMessage().contains("no-such-model.gguf"), e.getMessage());
    }

    @Test
    void benchReportsPositiveSpeeds() {
        LlamaCppModel.Bench b = llama.bench(32, 8, 1, 1);
        assertTrue(b.prefillTokensPerSecond() > 0 && Double.isFinite(b.prefillTokensPerSecond()), b.toString());
        assertTrue(b.decodeTokensPerSecond() > 0 && Double.isFinite(b.decodeTokensPerSecond()), b.toString());
    }

    @Test
    void kherudGreedyMatchesAllGoldenIds() {
        int[] golden = Golden.stories260kGreedy();
        try (KherudLlama k = new KherudLlama(SharedData.stories260k(), 512, 1)) {
            int[] got = k.greedy(new int[] {1}, 256);
            // measured: llama.cpp b4916 (de.kherud:llama 4.2.0) agrees on all 256 ids
            assertEquals(256, Golden.agreement(golden, got), () -> "de.kherud llama.cpp diverges from the golden ids at step "
                    + Golden.agreement(golden, got) + ": " + Arrays.toString(got));
        }
    }
}
