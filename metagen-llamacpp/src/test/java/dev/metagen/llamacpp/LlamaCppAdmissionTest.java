package dev.metagen.llamacpp;

import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Memory admission on the llama.cpp backend (the engine's semantics: reservations of the worst case, granted in
 * arrival order, waited for while holding nothing) and cell accounting with shared forks. The decode loop's use of
 * it (concurrent generations and many samples waiting their turn) is metagen-decoding's LlamaCppGenerationTest.
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
}
