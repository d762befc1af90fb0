package dev.metagen.core.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The conformance suite of the {@link LanguageModel} SPI that every backend passes (a subclass per backend supplies
 * the model): a state's bookkeeping, fork, truncate, batched forward and forwardAll each give the logits that
 * recomputing the same tokens in a fresh state gives, and bad calls are refused with an exception that leaves the
 * state as it was. Logits computed through different paths (another batch composition, another chunking) may differ
 * by the backend's kernel rounding, bounded by {@link #tolerance()}.
 */
public abstract class LanguageModelConformance {

    /** The model under test (the subclass owns and closes it); its vocabulary has at least 512 ids. */
    protected abstract LanguageModel model();

    /** Bound on max |logit difference| between two computation paths of the same tokens. */
    protected abstract double tolerance();

    static final int[] PROMPT = {1, 300, 17, 42, 511, 260};
    static final int[] MORE = {5, 77, 130};

    private Logits fresh(int... tokens) {
        try (ModelState s = model().newState()) {
            return model().forward(s, tokens);
        }
    }

    private static int[] concat(int[] a, int... b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private void assertClose(Logits expected, Logits actual, String what) {
        float[] e = expected.values();
        float[] a = actual.values();
        assertEquals(e.length, a.length, what + ": vocabulary size");
        double max = 0;
        for (int i = 0; i < e.length; i++) {
            max = Math.max(max, Math.abs(e[i] - a[i]));
        }
        assertTrue(max <= tolerance(), what + ": max |difference| " + max + " > " + tolerance());
        assertEquals(expected.argmax(), actual.argmax(), what + ": argmax");
    }

    @Test
    void aStateRecordsWhatItConsumed() {
        try (ModelState s = model().newState()) {
            assertEquals(0, s.length());
            assertArrayEquals(new int[0], s.tokens());
            model().forward(s, PROMPT);
            model().forward(s, MORE[0]);
            assertEquals(PROMPT.length + 1, s.length());
            assertArrayEquals(concat(PROMPT, MORE[0]), s.tokens());
        }
    }

    @Test
    void oneChunkAndTokenByTokenGiveTheSameLogits() {
        Logits whole = fresh(PROMPT);
        try (ModelState s = model().newState()) {
            Logits last = null;
            for (int t : PROMPT) {
                last = model().forward(s, t);
            }
            assertClose(whole, last, "token by token");
        }
    }

    @Test
    void aForkContinuesLikeRecomputationAndLeavesItsParentAlone() {
        try (ModelState parent = model().newState()) {
            model().forward(parent, PROMPT);
            try (ModelState fork = parent.fork()) {
                assertArrayEquals(PROMPT, fork.tokens());
                assertClose(fresh(concat(PROMPT, MORE)), model().forward(fork, MORE), "fork");
                assertEquals(PROMPT.length, parent.length(), "the parent did not move");
                assertClose(fresh(concat(PROMPT, 9)), model().forward(parent, 9), "parent after its fork ran");
            }
            // the parent outlives its fork's close
            assertClose(fresh(concat(PROMPT, 9, 10)), model().forward(parent, 10), "parent after its fork closed");
        }
    }

    @Test
    void aForkOutlivesItsParent() {
        ModelState parent = model().newState();
        model().forward(parent, PROMPT);
        try (ModelState fork = parent.fork()) {
            parent.close();
            assertClose(fresh(concat(PROMPT, MORE)), model().forward(fork, MORE), "fork of a closed parent");
        }
    }

    @Test
    void truncateRollsBackLikeRecomputation() {
        try (ModelState s = model().newState()) {
            model().forward(s, concat(PROMPT, MORE));
            s.truncate(3);
            assertEquals(3, s.length());
            assertArrayEquals(Arrays.copyOf(PROMPT, 3), s.tokens());
            assertClose(fresh(1, 300, 17, 99, 98), model().forward(s, 99, 98), "after truncate");
            s.truncate(s.length());
            assertThrows(MetagenException.class, () -> s.truncate(s.length() + 1));
            assertThrows(MetagenException.class, () -> s.truncate(-1));
            assertEquals(5, s.length());
        }
    }

    @Test
    void aBatchedForwardEqualsSeparateForwards() {
        List<ModelState> states = new ArrayList<>();
        try {
            ModelState a = model().newState();
            ModelState b = model().newState();
            states.add(a);
            states.add(b);
            model().forward(a, PROMPT);
            ModelState c = a.fork();
            states.add(c);
            // different lengths, one and several new tokens, a fork beside its parent
            List<Logits> out = model().forward(List.of(a, b, c), List.of(new int[] {7}, new int[] {1, 50, 60}, new int[] {8, 9}));
            assertEquals(3, out.size());
            assertClose(fresh(concat(PROMPT, 7)), out.get(0), "state 0");
            assertClose(fresh(1, 50, 60), out.get(1), "state 1");
            assertClose(fresh(concat(PROMPT, 8, 9)), out.get(2), "state 2");
            assertEquals(PROMPT.length + 1, a.length());
            assertEquals(3, b.length());
            assertEquals(PROMPT.length + 2, c.length());
        } finally {
            states.forEach(ModelState::close);
        }
    }

    @Test
    void forwardAllGivesEveryPositionsLogits() {
        try (ModelState s = model().newState()) {
            List<Logits> all = model().forwardAll(s, PROMPT);
            assertEquals(PROMPT.length, all.size());
            for (int i = 0; i < PROMPT.length; i++) {
                assertClose(fresh(Arrays.copyOf(PROMPT, i + 1)), all.get(i), "position " + i);
            }
            assertEquals(PROMPT.length, s.length());
            // and after a prefix, as speculative decoding verifies a draft
            List<Logits> more = model().forwardAll(s, MORE);
            assertClose(fresh(concat(PROMPT, MORE)), more.getLast(), "draft's last position");
        }
    }

    @Test
    void badCallsAreRefusedAndLeaveTheStateAsItWas() {
        int vocab = model().info().vocabSize();
        try (ModelState s = model().newState(); ModelState other = model().newState()) {
            model().forward(s, PROMPT);
            assertThrows(MetagenException.class, () -> model().forward(s, vocab));
            assertThrows(MetagenException.class, () -> model().forward(s, -1));
            assertThrows(MetagenException.class, () -> model().forward(s, new int[0]));
            assertThrows(MetagenException.class, () -> model().forward(List.of(s, s), List.of(new int[] {1}, new int[] {2})));
            assertThrows(MetagenException.class, () -> model().forward(List.of(s, other), List.of(new int[] {1})));
            assertThrows(MetagenException.class, () -> model().forwardAll(s));
            assertEquals(PROMPT.length, s.length());
            assertClose(fresh(concat(PROMPT, 4)), model().forward(s, 4), "after refused calls");
        }
        ModelState closed = model().newState();
        closed.close();
        closed.close(); // closing twice is harmless
        assertThrows(MetagenException.class, () -> model().forward(closed, 1));
    }

    @Test
    void aContextOverflowIsRefused() {
        int ctx = model().info().contextLength();
        try (ModelState s = model().newState()) {
            assertThrows(MetagenException.class, () -> model().forward(s, new int[ctx + 1]));
            assertEquals(0, s.length());
        }
    }

    @Test
    void reservationsAreGrantedAndReturned() throws Exception {
        try (ModelState s = model().newState()) {
            MemoryReservation r = s.reserve(PROMPT.length + 4);
            assertNotNull(r);
            model().forward(s, PROMPT);
            try (ModelState f = s.fork()) {
                model().forward(f, MORE);
            }
            r.close();
            r.close(); // closing twice is harmless
            MemoryReservation again = s.tryReserve(2);
            assertNotNull(again, "nothing else holds memory: a small reservation fits at once");
            again.close();
        }
    }
}
