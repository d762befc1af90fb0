package dev.metagen.decoding;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.llamacpp.LlamaCppModel;
import dev.metagen.llamacpp.LlamaCppOptions;
import dev.metagen.llamacpp.testing.TestBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The decode loop on the llama.cpp backend specifically (whatever {@value TestBackend#PROPERTY} says): the same
 * greedy generation as the pure-Java engine, and llama.cpp's memory admission under {@link SamplingGenerator}
 * (the engine's is {@link KvAdmissionTest}): generations and samples that together would overflow the context wait
 * their turn instead of failing, each produces its solo output, and the prompt of n samples is computed once.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LlamaCppGenerationTest {
    private static LlamaCppModel small;

    @BeforeAll
    static void load() {
        TestBackend.requireLibrary();
        // 256 cells: libllama's smallest context (it rounds every context up to a multiple of 256)
        small = LlamaCppModel.load(SharedData.stories260k(), LlamaCppOptions.DEFAULTS.withContextLength(256).withThreads(1));
        assertEquals(256, small.contextLength());
    }

    @AfterAll
    static void close() {
        if (small != null) {
            small.close();
        }
    }

    private static int[] prompt(int i) {
        return new int[] {1, 10 + i, 300, 17 + i, 42};
    }

    @Test
    void samplingGeneratorRunsUnchangedOnLlamaCpp() {
        Prompt prompt = Prompt.of("Once upon a time");
        try (TransformerModel engine = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 512))) {
            Generation ours = new SamplingGenerator(engine).generate(prompt, GenerationParams.greedy(48));
            Generation theirs = new SamplingGenerator(small).generate(prompt, GenerationParams.greedy(48));
            assertFalse(ours.text().isBlank());
            assertArrayEquals(ours.tokens(), theirs.tokens());
            assertEquals(ours.text(), theirs.text());
            assertEquals(ours.finish(), theirs.finish());
        }
    }

    /**
     * 20 concurrent greedy generations of 5 + 40 tokens each (900 cells) on a context of 256 cells: each reserves
     * its worst case and waits its turn, none fails, and each produces what it produces alone.
     */
    @Test
    void twentyConcurrentGenerationsThatWouldOverflowWaitAndFinishWithTheirSoloOutputs() throws Exception {
        SamplingGenerator gen = new SamplingGenerator(small);
        GenerationParams params = GenerationParams.greedy(40);
        int n = 20;
        List<int[]> solo = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            solo.add(gen.generate(prompt(i), params, t -> { }).tokens());
        }
        List<CompletableFuture<Generation>> runs = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            for (int i = 0; i < n; i++) {
                int k = i;
                runs.add(CompletableFuture.supplyAsync(() -> gen.generate(prompt(k), params, t -> { }), pool));
            }
            for (int i = 0; i < n; i++) {
                Generation g = runs.get(i).get();
                assertEquals(FinishReason.LENGTH, g.finish(), "generation " + i);
                assertArrayEquals(solo.get(i), g.tokens(), "generation " + i);
            }
        }
        assertEquals(0, small.liveCells());
        assertEquals(0, small.promisedCells());
        assertEquals(0, small.waitingReservations());
    }

    /** Best-of-32: 32 samples of one prompt in one context, the prompt computed once (one wave). */
    @Test
    void thirtyTwoParallelSamplesShareOnePromptComputation() {
        try (LlamaCppModel m = LlamaCppModel.load(SharedData.stories260k(), LlamaCppOptions.DEFAULTS.withThreads(1))) {
            assertEquals(LlamaCppOptions.MAX_SEQUENCES, LlamaCppOptions.DEFAULTS.sequences());
            GenerationParams p = new GenerationParams(24, 1.0, 0, 1.0, 5, true, List.of());
            List<Generation> all = new SamplingGenerator(m).generateN(prompt(3), p, 32);
            assertEquals(32, all.size());
            Set<String> distinct = new HashSet<>();
            for (Generation g : all) {
                assertEquals(24, g.tokens().length);
                assertEquals(1, ((Number) g.trace().get("kv_waves")).intValue(), g.trace().toString());
                distinct.add(java.util.Arrays.toString(g.tokens()));
            }
            assertTrue(distinct.size() > 1, "32 seeds sampled one continuation");
            // each sample equals the single generation with its seed
            for (int i : new int[] {0, 17, 31}) {
                assertArrayEquals(new SamplingGenerator(m).generate(prompt(3), p.withSeed(5 + i), t -> { }).tokens(),
                        all.get(i).tokens(), "sample " + i);
            }
            assertEquals(0, m.liveCells());
        }
    }

    /**
     * 64 samples of 5 + 40 tokens (2,565 cells if all ran at once) on 256 cells: samples join as others end, none
     * fails, and each equals its solo run.
     */
    @Test
    void sixtyFourSamplesOnASmallContextRunInWaves() {
        GenerationParams p = new GenerationParams(40, 1.0, 0, 1.0, 9, true, List.of());
        List<Generation> all = new SamplingGenerator(small).generateN(prompt(4), p, 64);
        assertEquals(64, all.size());
        for (Generation g : all) {
            assertEquals(40, g.tokens().length);
        }
        for (int i : new int[] {0, 63}) {
            assertArrayEquals(new SamplingGenerator(small).generate(prompt(4), p.withSeed(9 + i), t -> { }).tokens(),
                    all.get(i).tokens(), "sample " + i);
        }
        assertEquals(0, small.liveCells());
        assertEquals(0, small.promisedCells());
    }
}
