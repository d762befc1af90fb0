package dev.metagen.engine.model;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The paged KV cache: forks and batches equal independent sequential runs on every architecture, reference counts
 * return to zero, a long seeded mix of operations leaks nothing and never corrupts a sibling, the KV budget gives a
 * clear error after evicting only unreferenced prefix-cache blocks, and prefix-cache hits give cold-run logits.
 */
class PagedKvCacheTest {
    private static final float TOL = 1e-4f;
    private static final int B = KvBlockPool.BLOCK;

    @TempDir
    static Path dir;

    @BeforeAll
    static void synthesize() {
        for (String p : List.of("tiny-llama", "tiny-qwen2", "tiny-qwen3")) {
            ModelSynthesizer.builder().preset(p).seed(5).build().write(dir.resolve(p + ".gguf"));
        }
    }

    static Path file(String name) {
        return name.equals("stories260K") ? SharedData.stories260k() : dir.resolve(name + ".gguf");
    }

    static int[] tokens(Random rnd, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1 + rnd.nextInt(vocab - 1);
        }
        return t;
    }

    static int[] concat(int[] a, int... b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Logits after feeding {@code seq} one token at a time into a fresh state of {@code ref}. */
    static float[] sequential(TransformerModel ref, int[] seq) {
        try (ModelState s = ref.newState()) {
            Logits last = null;
            for (int t : seq) {
                last = ref.forward(s, t);
            }
            return last.values();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-llama", "tiny-qwen2", "tiny-qwen3"})
    void forkedAndBatchedStatesEqualIndependentSequentialRuns(String name) {
        ModelOptions opts = new ModelOptions(2, 128);
        try (TransformerModel m = TransformerModel.load(file(name), opts);
             TransformerModel ref = TransformerModel.load(file(name), opts.withPrefixCache(false))) {
            int vocab = m.config().vocab();
            Random rnd = new Random(7);
            int[] prompt = tokens(rnd, 2 * B + 5, vocab); // a partially filled last block
            ModelState root = m.newState();
            m.forward(root, prompt);
            List<ModelState> forks = new ArrayList<>();
            List<int[]> seqs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                forks.add(root.fork());
                seqs.add(prompt);
            }
            for (int step = 0; step < 14; step++) { // crosses a block boundary, so every fork copies on write
                List<int[]> next = new ArrayList<>();
                for (int i = 0; i < forks.size(); i++) {
                    int t = 1 + rnd.nextInt(vocab - 1);
                    next.add(new int[]{t});
                    seqs.set(i, concat(seqs.get(i), t));
                }
                List<Logits> out = m.forward(forks, next);
                if (step % 5 == 4 || step == 13) {
                    for (int i = 0; i < forks.size(); i++) {
                        assertArrayEquals(sequential(ref, seqs.get(i)), out.get(i).values(), TOL,
                                name + " fork " + i + " step " + step);
                    }
                }
            }
            // the root was never written by its forks
            assertArrayEquals(sequential(ref, concat(prompt, 3)), m.forward(root, 3).values(), TOL);
            root.close();
            forks.forEach(ModelState::close);
            m.clearPrefixCache();
            assertEquals(0, m.kvStats().liveBlocks());
        }
    }

    @Test
    void forkIsSharingNotCopying() {
        try (TransformerModel m = TransformerModel.load(file("tiny-llama"), new ModelOptions(1, 256).withPrefixCache(false))) {
            ModelState a = m.newState();
            m.forward(a, tokens(new Random(1), 100, 512));
            int held = m.kvStats().liveBlocks();
            assertEquals((100 + B - 1) / B, held);
            List<ModelState> forks = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                forks.add(a.fork());
            }
            assertEquals(held, m.kvStats().liveBlocks(), "forks share every block");
            m.forward(forks.getFirst(), 9); // copy-on-write of the partially filled last block only
            assertEquals(held + 1, m.kvStats().liveBlocks());
            forks.getFirst().truncate(40); // drops its references to blocks 3.. (its copy goes back to the pool)
            assertEquals(held, m.kvStats().liveBlocks());
            a.close();
            forks.forEach(ModelState::close);
            assertEquals(0, m.kvStats().liveBlocks());
            a.close(); // closing twice is harmless
            assertThrows(MetagenException.class, () -> a.fork());
        }
    }

    @Test
    void randomForkTruncateCloseForwardLeaksNothingAndNeverCorruptsASibling() {
        try (TransformerModel m = TransformerModel.load(file("tiny-qwen3"), new ModelOptions(1, 96));
             TransformerModel ref = TransformerModel.load(file("tiny-qwen3"), new ModelOptions(1, 96).withPrefixCache(false))) {
            Random rnd = new Random(42);
            List<ModelState> live = new ArrayList<>();
            List<int[]> seqs = new ArrayList<>();
            int checks = 0;
            for (int op = 0; op < 400; op++) {
                int kind = rnd.nextInt(10);
                if (live.isEmpty() || kind == 0) {
                    ModelState s = m.newState();
                    // shared prompts make prefix-cache hits happen
                    int[] prompt = rnd.nextBoolean() ? tokens(new Random(rnd.nextInt(3)), 20 + B * rnd.nextInt(3), 512)
                            : tokens(rnd, 1 + rnd.nextInt(30), 512);
                    m.forward(s, prompt);
                    live.add(s);
                    seqs.add(prompt);
                    continue;
                }
                int i = rnd.nextInt(live.size());
                ModelState s = live.get(i);
                int[] seq = seqs.get(i);
                switch (kind) {
                    case 1, 2 -> {
                        if (live.size() < 12) {
                            live.add(s.fork());
                            seqs.add(seq);
                        }
                    }
                    case 3 -> {
                        int n = rnd.nextInt(seq.length + 1);
                        s.truncate(n);
                        seqs.set(i, Arrays.copyOf(seq, n));
                    }
                    case 4 -> {
                        s.close();
                        live.remove(i);
                        seqs.remove(i);
                    }
                    default -> {
                        int room = 96 - seq.length;
                        if (room < 1) {
                            s.truncate(seq.length / 2);
                            seqs.set(i, Arrays.copyOf(seq, seq.length / 2));
                            break;
                        }
                        // a batch with a sibling when there is one: each consumes its own tokens in one pass
                        int j = live.size() > 1 ? rnd.nextInt(live.size()) : i;
                        if (j != i && 96 - seqs.get(j).length >= 1) {
                            int[] a = tokens(rnd, 1 + rnd.nextInt(Math.min(3, room)), 512);
                            int[] b = tokens(rnd, 1, 512);
                            List<Logits> out = m.forward(List.of(s, live.get(j)), List.of(a, b));
                            seqs.set(i, concat(seq, a));
                            seqs.set(j, concat(seqs.get(j), b));
                            if (op % 7 == 0) {
                                assertArrayEquals(sequential(ref, seqs.get(j)), out.get(1).values(), TOL, "op " + op);
                                checks++;
                            }
                        } else {
                            int[] a = tokens(rnd, 1 + rnd.nextInt(Math.min(20, room)), 512);
                            Logits out = m.forward(s, a);
                            seqs.set(i, concat(seq, a));
                            if (op % 5 == 0) {
                                assertArrayEquals(sequential(ref, seqs.get(i)), out.values(), TOL, "op " + op);
                                checks++;
                            }
                        }
                    }
                }
                assertArrayEquals(seqs.get(Math.min(i, seqs.size() - 1)), live.get(Math.min(i, live.size() - 1)).tokens());
            }
            // every surviving state still continues exactly like a cold run of its own tokens
            for (int i = 0; i < live.size(); i++) {
                if (seqs.get(i).length < 96) {
                    assertArrayEquals(sequential(ref, concat(seqs.get(i), 5)), m.forward(live.get(i), 5).values(), TOL);
                    checks++;
                }
            }
            assertTrue(checks > 20, "checked " + checks);
            assertTrue(m.kvStats().prefixHits() > 0, "the mix exercised prefix-cache hits: " + m.kvStats());
            live.forEach(ModelState::close);
            KvCacheStats st = m.kvStats();
            assertEquals(st.cachedBlocks(), st.liveBlocks(), "only the prefix cache holds blocks now: " + st);
            m.clearPrefixCache();
            assertEquals(0, m.kvStats().liveBlocks());
        }
    }

    @Test
    void exhaustedKvBudgetIsAClearErrorAndLeavesTheStateUsable() {
        long blockBytes = KvBlockPool.blockBytes(2, 32, 32); // tiny-llama: 2 layers, kv width 2 heads x 16
        try (TransformerModel m = TransformerModel.load(file("tiny-llama"),
                new ModelOptions(1, 256, 4 * blockBytes, false))) {
            assertEquals(blockBytes, m.kvStats().blockBytes());
            assertEquals(4, m.kvStats().maxBlocks());
            int[] t = tokens(new Random(3), 4 * B, 512);
            ModelState a = m.newState();
            Logits before = m.forward(a, t);
            MetagenException e = assertThrows(MetagenException.class, () -> m.forward(a, 7));
            assertTrue(e.getMessage().contains("KV cache memory exhausted"), e.getMessage());
            assertEquals(4 * B, a.length());
            ModelState b = m.newState();
            assertThrows(MetagenException.class, () -> m.forward(b, 1, 2, 3));
            assertEquals(0, b.length());
            a.truncate(4 * B - 1);
            Logits again = m.forward(a, t[4 * B - 1]);
            assertArrayEquals(before.values(), again.values(), TOL);
            a.close();
            assertArrayEquals(m.forward(b, 1, 2, 3).values(), m.forward(m.newState(), 1, 2, 3).values(), TOL);
        }
        assertThrows(MetagenException.class, () -> TransformerModel.load(file("tiny-llama"),
                new ModelOptions(1, 64, blockBytes - 1, true)));
        assertThrows(MetagenException.class, () -> new ModelOptions(1, 64, -1, true));
    }

    @Test
    void aPrefixHitAfterAFailedFirstForwardLeaksNoSpareBlocks() {
        long blockBytes = KvBlockPool.blockBytes(2, 32, 32);
        try (TransformerModel m = TransformerModel.load(file("tiny-llama"), new ModelOptions(1, 256, 6 * blockBytes, true));
             TransformerModel ref = TransformerModel.load(file("tiny-llama"), new ModelOptions(1, 256).withPrefixCache(false))) {
            int[] p = tokens(new Random(1), 2 * B + 8, 512);
            ModelState a = m.newState();
            m.forward(a, p); // 3 blocks, the 2 full ones also cached
            ModelState b = m.newState();
            assertThrows(MetagenException.class, () -> m.forward(b, tokens(new Random(2), 5 * B - 2, 512)));
            assertEquals(0, b.length());
            assertArrayEquals(sequential(ref, p), m.forward(b, p).values(), TOL); // adopts a's cached blocks
            assertEquals(1, m.kvStats().prefixHits());
            a.close();
            b.close();
            m.clearPrefixCache();
            assertEquals(0, m.kvStats().liveBlocks());
        }
    }

    @Test
    void budgetPressureEvictsOnlyUnreferencedPrefixBlocks() {
        long blockBytes = KvBlockPool.blockBytes(2, 32, 32);
        try (TransformerModel m = TransformerModel.load(file("tiny-llama"), new ModelOptions(1, 256, 6 * blockBytes, true));
             TransformerModel ref = TransformerModel.load(file("tiny-llama"), new ModelOptions(1, 256).withPrefixCache(false))) {
            int[] p1 = tokens(new Random(1), 3 * B, 512);
            ModelState a = m.newState();
            m.forward(a, p1);
            a.close(); // its 3 blocks stay in the prefix cache, unreferenced
            assertEquals(3, m.kvStats().cachedBlocks());
            int[] p2 = tokens(new Random(2), 2 * B + 3, 512);
            ModelState held = m.newState();
            m.forward(held, p2); // 3 blocks held by a live state (2 full ones also cached)
            int[] p3 = tokens(new Random(3), 3 * B - 1, 512);
            ModelState c = m.newState();
            Logits lc = m.forward(c, p3); // needs 3 blocks: evicts the unreferenced ones of p1
            assertArrayEquals(sequential(ref, p3), lc.values(), TOL);
            assertTrue(m.kvStats().evictions() > 0, m.kvStats().toString());
            // no room left but blocks that live states hold: a clear error, nothing of theirs evicted
            ModelState d = m.newState();
            MetagenException e = assertThrows(MetagenException.class, () -> m.forward(d, tokens(new Random(4), 3 * B, 512)));
            assertTrue(e.getMessage().contains("held by live states"), e.getMessage());
            assertArrayEquals(sequential(ref, concat(p2, 11)), m.forward(held, 11).values(), TOL);
            held.close();
            c.close();
            d.close();
        }
    }

    @Test
    void newStatesWithOnePromptInOneBatchComputeItOnce() {
        try (TransformerModel m = TransformerModel.load(file("tiny-llama"), new ModelOptions(2, 256));
             TransformerModel off = TransformerModel.load(file("tiny-llama"), new ModelOptions(2, 256).withPrefixCache(false))) {
            int[] prompt = tokens(new Random(4), 2 * B + 8, 512);
            List<ModelState> states = new ArrayList<>();
            List<int[]> toks = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                states.add(m.newState());
                toks.add(prompt);
            }
            states.add(m.newState());
            int[] other = tokens(new Random(5), 20, 512);
            toks.add(other);
            List<Logits> out = m.forward(states, toks);
            // the first full blocks are computed once; each follower recomputes only the partial last block
            assertEquals(prompt.length + 4L * (prompt.length - 2 * B) + other.length, m.rowsComputed());
            float[] cold = sequential(off, prompt);
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(cold, out.get(i).values(), TOL, "state " + i);
                assertEquals(prompt.length, states.get(i).length());
            }
            assertArrayEquals(sequential(off, other), out.get(5).values(), TOL);
            states.forEach(ModelState::close);
        }
    }

    @Test
    void prefixCacheHitGivesColdRunLogitsAndCountsReusedTokens() {
        try (TransformerModel m = TransformerModel.load(file("tiny-qwen2"), new ModelOptions(2, 256));
             TransformerModel off = TransformerModel.load(file("tiny-qwen2"), new ModelOptions(2, 256).withPrefixCache(false))) {
            int[] prompt = tokens(new Random(9), 100, 512);
            ModelState cold = m.newState();
            Logits first = m.forward(cold, prompt);
            assertEquals(0, m.kvStats().prefixHits());
            ModelState warm = m.newState();
            Logits second = m.forward(warm, prompt);
            KvCacheStats st = m.kvStats();
            assertEquals(1, st.prefixHits());
            assertEquals(96, st.reusedTokens());
            assertArrayEquals(first.values(), second.values(), TOL);
            assertArrayEquals(prompt, warm.tokens());
            // a longer prompt sharing the first blocks, and continuing the warm state: both match cold runs
            int[] longer = concat(Arrays.copyOf(prompt, 40), tokens(new Random(10), 30, 512));
            ModelState third = m.newState();
            assertArrayEquals(sequential(off, longer), m.forward(third, longer).values(), TOL);
            assertEquals(2, m.kvStats().prefixHits());
            assertArrayEquals(sequential(off, concat(prompt, 4, 5)), m.forward(warm, 4, 5).values(), TOL);
            ModelState none = off.newState();
            off.forward(none, prompt);
            off.forward(off.newState(), prompt);
            assertEquals(0, off.kvStats().prefixHits());
            assertEquals(0, off.kvStats().cachedBlocks());
        }
    }
}
