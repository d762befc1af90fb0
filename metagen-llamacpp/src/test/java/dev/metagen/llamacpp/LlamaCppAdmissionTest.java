package dev.metagen.llamacpp;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Logits;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.testing.SharedData;
import dev.metagen.decoding.SamplingGenerator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Memory admission on the llama.cpp backend (the engine's semantics: reservations of the worst case, granted in
 * arrival order, waited for while holding nothing) and many parallel sequences in one context: generations that
 * together would overflow the context wait their turn instead of failing, and each produces its solo output.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LlamaCppAdmissionTest {
    private static LlamaCppModel small;

    @BeforeAll
    static void load() {
        if (!LlamaCppModel.libraryAvailable()) {
            Assumptions.abort("llama.cpp library not found (run ./run-tests once)");
        }
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
    void cellsAreCountedWithSharingLikeLibllama() {
        try (ModelState a = small.newState()) {
            small.forward(a, prompt(0));
            assertEquals(5, small.liveCells());
            try (ModelState b = a.fork()) {
                assertEquals(5, small.liveCells(), "a fork shares its parent's cells");
                small.forward(b, 7, 8);
                assertEquals(7, small.liveCells());
                a.truncate(2);
                assertEquals(7, small.liveCells(), "the fork still holds the truncated positions");
                b.truncate(3);
                assertEquals(3, small.liveCells());
            }
            assertEquals(2, small.liveCells());
        }
        assertEquals(0, small.liveCells());
    }

    @Test
    void aForwardThatOverflowsTheCacheIsAClearErrorAndChangesNothing() {
        List<ModelState> states = new ArrayList<>();
        try {
            List<int[]> tokens = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                states.add(small.newState());
                tokens.add(new int[50]); // 300 positions in all, 256 cells
            }
            small.forward(states.subList(0, 2), tokens.subList(0, 2));
            MetagenException e = assertThrows(MetagenException.class, () -> small.forward(states, tokens));
            assertTrue(e.getMessage().startsWith("llama.cpp KV cache full: 400 cells needed of 256"), e.getMessage());
            assertEquals(100, small.liveCells());
            assertEquals(50, states.get(0).length());
            assertEquals(0, states.get(5).length());
        } finally {
            states.forEach(ModelState::close);
        }
        assertEquals(0, small.liveCells());
    }

    @Test
    void statesReserveTheirWorstCaseAndForksDrawOnTheirParentsReservation() throws Exception {
        try (ModelState root = small.newState()) {
            MemoryReservation r = root.reserve(5, 2, 10);
            assertEquals(5 + 2 * 10, small.promisedCells());
            small.forward(root, prompt(1));
            assertEquals(20, small.promisedCells());
            ModelState f = root.fork();
            small.forward(f, 1, 2, 3);
            assertEquals(17, small.promisedCells(), "the fork drew on its parent's reservation");
            assertEquals(8, small.liveCells());
            assertThrows(MetagenException.class, () -> root.reserve(1), "one reservation per state at a time");
            f.close();
            r.close();
            assertEquals(0, small.promisedCells());
            // positions past the context are never written, so a reservation is capped there
            try (MemoryReservation capped = root.reserve(1000, 0, 0)) {
                assertEquals(256 - 5, small.promisedCells());
            }
            MetagenException never = assertThrows(MetagenException.class, () -> root.reserve(10, 30, 10));
            assertTrue(never.getMessage().contains("needs up to 310 cells, more than the whole context of 256 cells"),
                    never.getMessage());
            assertFalse(never.getMessage().contains("\n"));
        }
        assertEquals(0, small.liveCells());
        assertEquals(0, small.promisedCells());
    }

    @Test
    void reservationsAreAdmittedInArrivalOrderAndSmallOnesDoNotOvertakeABigOne() throws Exception {
        KvCells cells = new KvCells(10);
        KvCells.Reservation held = cells.reserve(7, true, "held");
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<KvCells.Reservation> big = pool.submit(() -> cells.reserve(6, true, "big"));
            while (cells.waiting() < 1) {
                Thread.onSpinWait();
            }
            assertNull(cells.reserve(1, false, "small"), "a small request may not overtake a waiting big one");
            Future<KvCells.Reservation> after = pool.submit(() -> cells.reserve(5, true, "after"));
            while (cells.waiting() < 2) {
                Thread.onSpinWait();
            }
            assertFalse(big.isDone());
            held.close();
            KvCells.Reservation b = big.get();
            assertEquals(6, cells.promised(), "the big one is admitted first");
            assertEquals(1, cells.waiting(), "6 + 5 cells do not fit in 10: the next one waits");
            assertFalse(after.isDone());
            b.close();
            after.get().close();
        }
        assertEquals(0, cells.promised());
    }

    @Test
    void anInterruptedWaiterLeavesTheQueueHoldingNothing() throws Exception {
        KvCells cells = new KvCells(10);
        KvCells.Reservation held = cells.reserve(8, true, "held");
        AtomicInteger interrupted = new AtomicInteger();
        Thread t = new Thread(() -> {
            try {
                cells.reserve(5, true, "waiter");
            } catch (InterruptedException e) {
                interrupted.incrementAndGet();
            }
        });
        t.start();
        while (cells.waiting() < 1) {
            Thread.onSpinWait();
        }
        t.interrupt();
        t.join();
        assertEquals(1, interrupted.get());
        assertEquals(0, cells.waiting());
        assertEquals(8, cells.promised());
        held.close();
        assertEquals(0, cells.promised());
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
            java.util.Set<String> distinct = new java.util.HashSet<>();
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
