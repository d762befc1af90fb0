package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WorkerPool}, parking at once (the default) and spinning first. */
class WorkerPoolTest {
    private static final long SPIN = 30_000;

    @ParameterizedTest
    @ValueSource(longs = {0, SPIN})
    void everyIndexRunsExactlyOnceAcrossManyLoops(long spin) {
        try (WorkerPool pool = new WorkerPool(3, spin)) {
            for (int n : new int[] {0, 1, 7, 16, 17, 1000, 4099}) {
                for (int rep = 0; rep < 200; rep++) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, n));
                    pool.forRange(n, 4, (a, b) -> {
                        for (int i = a; i < b; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, hits.get(i), "n=" + n + " index " + i);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, SPIN})
    void workersShareTheLoopAndWakeAfterParking(long spin) throws InterruptedException {
        try (WorkerPool pool = new WorkerPool(2, spin)) {
            for (int round = 0; round < 3; round++) {
                Thread.sleep(spin / 1_000_000 + 20); // the worker has parked
                var threads = ConcurrentHashMap.<String>newKeySet();
                pool.forRange(8, 1, (a, b) -> {
                    threads.add(Thread.currentThread().getName());
                    long until = System.nanoTime() + 2_000_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait(); // long enough chunks that the woken worker takes some
                    }
                });
                assertTrue(threads.stream().anyMatch(t -> t.startsWith("metagen-matmul-")), threads.toString());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, SPIN})
    void anExceptionInAChunkReachesTheCallerAfterTheOthersFinish(long spin) {
        try (WorkerPool pool = new WorkerPool(2, spin)) {
            AtomicInteger running = new AtomicInteger();
            IllegalStateException boom = new IllegalStateException("chunk failed");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.forRange(64, 1, (a, b) -> {
                running.incrementAndGet();
                try {
                    if (a == 0) {
                        throw boom;
                    }
                } finally {
                    running.decrementAndGet();
                }
            }));
            assertSame(boom, thrown);
            assertEquals(0, running.get(), "no chunk still running when forRange returns");
            AtomicInteger sum = new AtomicInteger();
            pool.forRange(100, 1, (a, b) -> sum.addAndGet(b - a));
            assertEquals(100, sum.get(), "the pool keeps working after a failed loop");
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, SPIN})
    void anInterruptedCallerFinishesTheLoopAndKeepsTheFlag(long spin) {
        try (WorkerPool pool = new WorkerPool(2, spin)) {
            Thread.currentThread().interrupt();
            AtomicInteger sum = new AtomicInteger();
            pool.forRange(64, 1, (a, b) -> {
                long until = System.nanoTime() + 500_000;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                sum.addAndGet(b - a);
            });
            assertTrue(Thread.interrupted(), "the interrupt is kept for the generator (and cleared here)");
            assertEquals(64, sum.get());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, SPIN})
    void concurrentCallersAreSerialisedAndAllComplete(long spin) throws InterruptedException {
        try (WorkerPool pool = new WorkerPool(2, spin)) {
            List<Thread> callers = new ArrayList<>();
            AtomicInteger total = new AtomicInteger();
            for (int t = 0; t < 4; t++) {
                callers.add(Thread.ofPlatform().start(() -> {
                    for (int rep = 0; rep < 500; rep++) {
                        pool.forRange(32, 1, (a, b) -> total.addAndGet(b - a));
                    }
                }));
            }
            for (Thread t : callers) {
                t.join();
            }
            assertEquals(4 * 500 * 32, total.get());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, SPIN})
    void aClosedPoolRefusesParallelLoopsAndItsThreadsEnd(long spin) throws InterruptedException {
        WorkerPool pool = new WorkerPool(2, spin);
        pool.forRange(10, 1, (a, b) -> { });
        pool.close();
        MetagenException e = assertThrows(MetagenException.class, () -> pool.forRange(10, 1, (a, b) -> { }));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        long deadline = System.currentTimeMillis() + 5_000;
        while (pool.workersAlive() && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
        }
        assertFalse(pool.workersAlive(), "worker threads ended");
    }
}
