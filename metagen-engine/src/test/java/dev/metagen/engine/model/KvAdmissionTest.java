package dev.metagen.engine.model;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Logits;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV memory admission: reservations are granted in arrival order, an interrupted waiter leaves the queue holding
 * nothing, a request larger than the budget fails at once, reserved growth never runs out while unreserved growth
 * cannot take what is promised, the prefix cache gives way, and 64 sequences under a small budget all finish (queued)
 * with their solo outputs.
 */
class KvAdmissionTest {
    /** A pool of {@code blocks} tiny blocks and no prefix cache: reservations alone decide. */
    private static KvBlockPool pool(int blocks) {
        return new KvBlockPool(1, 1, 1, blocks);
    }

    /** Waits (without a time bound: the test's own timeout catches a hang) until {@code n} reservations wait. */
    private static void awaitWaiting(KvBlockPool pool, int n) throws InterruptedException {
        while (pool.waitingReservations() != n) {
            Thread.sleep(1);
        }
    }

    @Test
    void reservationsAreAdmittedInArrivalOrderAndSmallOnesDoNotOvertakeABigOne() throws Exception {
        KvBlockPool pool = pool(10);
        KvReservation a = pool.reserve(5, true, "a");
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<KvReservation> big = ex.submit(() -> pool.reserve(6, true, "big"));
            awaitWaiting(pool, 1);
            // one block would fit now (5 + 1 <= 10), but the big request came first
            assertNull(pool.reserve(1, false, "small"), "a small request may not overtake a waiting big one");
            Future<KvReservation> after = ex.submit(() -> pool.reserve(5, true, "after"));
            awaitWaiting(pool, 2);
            assertFalse(big.isDone());
            a.close();
            KvReservation b = big.get();
            assertEquals(6, pool.promisedBlocks(), "the big one is admitted first");
            // 6 + 5 > 10: the later one still waits, deterministically
            assertEquals(1, pool.waitingReservations());
            assertFalse(after.isDone());
            b.close();
            KvReservation c = after.get();
            assertEquals(5, pool.promisedBlocks());
            c.close();
            assertEquals(0, pool.promisedBlocks());
        }
    }

    @Test
    void anInterruptedWaiterLeavesTheQueueHoldingNothingAndLetsTheNextIn() throws Exception {
        KvBlockPool pool = pool(10);
        KvReservation a = pool.reserve(8, true, "a");
        KvBlock held = pool.allocate(a);
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            AtomicInteger interrupted = new AtomicInteger();
            Thread[] waiter = new Thread[1];
            Future<?> head = ex.submit(() -> {
                waiter[0] = Thread.currentThread();
                try {
                    pool.reserve(5, true, "head");
                } catch (InterruptedException e) {
                    interrupted.incrementAndGet();
                }
                return null;
            });
            awaitWaiting(pool, 1);
            Future<KvReservation> next = ex.submit(() -> pool.reserve(2, true, "next")); // fits, but queued behind
            awaitWaiting(pool, 2);
            assertFalse(next.isDone());
            waiter[0].interrupt();
            head.get();
            assertEquals(1, interrupted.get());
            KvReservation n = next.get(); // the head left, so the next one fits and is admitted
            assertEquals(0, pool.waitingReservations());
            assertEquals(1, pool.liveBlocks(), "the interrupted waiter allocated and freed nothing");
            assertEquals(7 + 2, pool.promisedBlocks(), "only the holders' promises remain");
            n.close();
            a.close();
            pool.release(held);
            assertEquals(0, pool.promisedBlocks());
            assertEquals(0, pool.liveBlocks());
        }
    }

    @Test
    void aRequestLargerThanTheWholeBudgetFailsAtOnce() {
        KvBlockPool pool = pool(10);
        MetagenException e = assertThrows(MetagenException.class, () -> pool.reserve(11, true, "a sequence of 176 tokens"));
        assertTrue(e.getMessage().contains("a sequence of 176 tokens needs up to 11 KV blocks"), e.getMessage());
        assertTrue(e.getMessage().contains("whole KV budget of 10 blocks") && e.getMessage().contains("--kv-budget-mib"),
                e.getMessage());
        assertEquals(0, pool.waitingReservations());
    }

    @Test
    void reservedGrowthNeverFailsAndUnreservedGrowthCannotTakeWhatIsPromised() throws Exception {
        KvBlockPool pool = pool(10);
        KvReservation r = pool.reserve(4, true, "r");
        List<KvBlock> others = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            others.add(pool.allocate(null));
        }
        MetagenException e = assertThrows(MetagenException.class, () -> pool.allocate(null));
        assertTrue(e.getMessage().contains("KV cache memory exhausted") && e.getMessage().contains("promised"),
                e.getMessage());
        List<KvBlock> mine = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            mine.add(pool.allocate(r));
        }
        assertEquals(10, pool.liveBlocks());
        assertEquals(0, pool.promisedBlocks());
        assertThrows(MetagenException.class, () -> pool.allocate(r), "growth beyond the promise is unreserved");
        r.close();
        r.close(); // harmless twice
        mine.forEach(pool::release);
        others.forEach(pool::release);
        assertEquals(0, pool.liveBlocks());
    }

    @Test
    void statesReserveTheirWorstCaseAndForksDrawOnTheirParentsReservation() throws Exception {
        int b = KvBlockPool.BLOCK;
        try (TransformerModel m = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 256)
                .withPrefixCache(false).withKvBudgetBytes(20 * m0BlockBytes()))) {
            ModelState root = m.newState();
            // the prompt (2 blocks + 3) and one fork of 20 tokens: 3 blocks + (the shared partial block copied + 1)
            MemoryReservation r = root.reserve(2 * b + 3, 1, 20);
            assertEquals(3 + 2, m.kvStats().promisedBlocks());
            m.forward(root, tokens(2 * b + 3));
            assertEquals(2, m.kvStats().promisedBlocks());
            ModelState fork = root.fork();
            m.forward(fork, tokens(20));
            assertEquals(0, m.kvStats().promisedBlocks(), "the fork drew on its parent's reservation");
            assertEquals(5, m.kvStats().liveBlocks());
            assertThrows(MetagenException.class, () -> root.reserve(1), "one reservation per state at a time");
            root.close(); // closes the reservation it made
            assertEquals(0, m.kvStats().promisedBlocks());
            r.close();
            // positions past the context are never written, so never reserved: a whole context fits 16 blocks
            try (ModelState s = m.newState(); MemoryReservation all = s.reserve(10_000)) {
                assertEquals(256 / b, m.kvStats().promisedBlocks());
            }
            fork.close();
            assertEquals(0, m.kvStats().liveBlocks());
            assertEquals(0, m.kvStats().promisedBlocks());
        }
    }

    @Test
    void cachedPrefixBlocksGiveWayToAWaitingReservation() throws Exception {
        try (TransformerModel m = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 256)
                .withKvBudgetBytes(16 * m0BlockBytes()))) {
            try (ModelState s = m.newState()) {
                m.forward(s, tokens(10 * KvBlockPool.BLOCK + 1));
            }
            assertEquals(10, m.kvStats().cachedBlocks(), "the closed state's full blocks stay cached");
            try (ModelState s = m.newState(); MemoryReservation r = s.tryReserve(16 * KvBlockPool.BLOCK)) {
                assertNotNull(r, "the whole budget is admitted once the cache gives way");
                assertEquals(0, m.kvStats().cachedBlocks());
                assertEquals(10, m.kvStats().evictions());
            }
        }
    }

    /** 64 sequences of 256 tokens, 8 sequences' worth of memory: all finish, queued, each as its solo run. */
    @Test
    void sixtyFourSequencesUnderASmallBudgetAllFinishWithTheirSoloOutputs() throws Exception {
        int seqs = 64;
        int newTokens = 256;
        int promptLength = 5;
        int perSequence = (promptLength + newTokens + KvBlockPool.BLOCK - 1) / KvBlockPool.BLOCK;
        ModelOptions small = new ModelOptions(1, 512).withPrefixCache(false).withKvBudgetBytes(8L * perSequence * m0BlockBytes());
        List<int[]> outputs = new ArrayList<>();
        try (TransformerModel m = TransformerModel.load(SharedData.stories260k(), small);
             ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            // their worst cases together need 8 times the budget: most of them wait their turn
            List<Future<int[]>> futures = new ArrayList<>();
            for (int i = 0; i < seqs; i++) {
                int[] prompt = prompt(i, promptLength);
                futures.add(ex.submit(() -> greedy(m, prompt, newTokens, true)));
            }
            for (Future<int[]> f : futures) {
                outputs.add(f.get());
            }
            assertTrue(m.batchStats().largestBatch() <= 8, "at most 8 sequences were admitted at once");
            assertEquals(0, m.kvStats().liveBlocks());
            assertEquals(0, m.kvStats().promisedBlocks());
        }
        try (TransformerModel solo = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 512))) {
            for (int i = 0; i < seqs; i += 7) {
                assertArrayEquals(greedy(solo, prompt(i, promptLength), newTokens, false), outputs.get(i), "sequence " + i);
            }
        }
        assertTrue(outputs.stream().map(Arrays::toString).distinct().count() > 8, "the sequences differ");
    }

    private static int[] prompt(int i, int length) {
        int[] p = new int[length];
        p[0] = 1; // BOS
        for (int j = 1; j < length; j++) {
            p[j] = 20 + (i * 7 + j * 13) % 400;
        }
        return p;
    }

    /** Greedy decoding of {@code n} tokens (the last one is never fed back), reserving first if asked. */
    private static int[] greedy(TransformerModel m, int[] prompt, int n, boolean reserve) throws InterruptedException {
        try (ModelState s = m.newState(); MemoryReservation r = reserve ? s.reserve(prompt.length + n) : null) {
            Logits l = m.forward(s, prompt);
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = argmax(l.values());
                if (i + 1 < n) {
                    l = m.forward(s, out[i]);
                }
            }
            return out;
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] tokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 10 + i % 300;
        }
        return t;
    }

    /** Bytes of one KV block of stories260K. */
    private static long m0BlockBytes() {
        try (TransformerModel m = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 64))) {
            return m.kvStats().blockBytes();
        }
    }
}
