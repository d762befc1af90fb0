package dev.metagen.server.accounting;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Counts what a language model is asked to do: batched {@code forward} calls ({@code Cost.modelCalls} counts
 * these) and prefill tokens. A sequence's prefill is what it is fed before it starts generating: a fresh state's
 * tokens until it is forked (beam and contrastive search fork it to try tokens) or until it is fed a single token
 * after a longer chunk (a sampler's first decode step), or a speculative verification ({@code forwardAll}). A prompt
 * of one token fed alone is not told from decoding: tests give contexts of two tokens or more. A hook runs at the start of every call (given its number).
 */
final class CountingModel implements LanguageModel {
    private final LanguageModel model;
    final AtomicLong calls = new AtomicLong();
    final AtomicLong prefillTokens = new AtomicLong();
    private volatile LongConsumer onCall = n -> {};
    /**
     * When set, every call runs alone. The engine's continuous batching merges concurrent calls into one pass, and
     * a pass of many positions takes the GEMM, whose sums round differently from the single-row dot product: two
     * seeded runs of a parallel strategy can then differ by float rounding. Serial calls compute each sequence the
     * same way every time, which is what a test of seeding needs.
     */
    volatile boolean serial;
    private final Object serialLock = new Object();

    CountingModel(LanguageModel model) {
        this.model = model;
    }

    void onCall(LongConsumer hook) {
        onCall = hook;
    }

    void reset() {
        calls.set(0);
        prefillTokens.set(0);
        onCall = n -> {};
        serial = false;
    }

    /** A state that remembers whether it is still in its prefill. */
    private static final class Counted implements ModelState {
        final ModelState inner;
        boolean prefilling;
        int lastChunk;

        Counted(ModelState inner, boolean root) {
            this.inner = inner;
            this.prefilling = root;
        }

        @Override
        public int length() {
            return inner.length();
        }

        @Override
        public int[] tokens() {
            return inner.tokens();
        }

        @Override
        public ModelState fork() {
            prefilling = false;
            return new Counted(inner.fork(), false);
        }

        @Override
        public void truncate(int length) {
            inner.truncate(length);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Override
    public Tokenizer tokenizer() {
        return model.tokenizer();
    }

    @Override
    public ModelInfo info() {
        return model.info();
    }

    @Override
    public ModelState newState() {
        return new Counted(model.newState(), true);
    }

    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        onCall.accept(calls.incrementAndGet());
        List<ModelState> inner = new ArrayList<>(states.size());
        for (int i = 0; i < states.size(); i++) {
            Counted c = (Counted) states.get(i);
            int n = tokens.get(i).length;
            synchronized (c) {
                if (c.prefilling && n == 1 && c.lastChunk > 1) {
                    c.prefilling = false;
                }
                if (c.prefilling) {
                    prefillTokens.addAndGet(n);
                }
                c.lastChunk = n;
            }
            inner.add(c.inner);
        }
        if (serial) {
            synchronized (serialLock) {
                return model.forward(inner, tokens);
            }
        }
        return model.forward(inner, tokens);
    }

    /**
     * One call that scores every position of {@code tokens} (speculative decoding's verification): it ends the
     * state's prefill, of which its first token is the last (the prompt's last token is fed with the first draft).
     */
    @Override
    public List<Logits> forwardAll(ModelState state, int... tokens) {
        onCall.accept(calls.incrementAndGet());
        Counted c = (Counted) state;
        synchronized (c) {
            if (c.prefilling) {
                prefillTokens.incrementAndGet();
                c.prefilling = false;
            }
            c.lastChunk = tokens.length;
        }
        if (serial) {
            synchronized (serialLock) {
                return model.forwardAll(c.inner, tokens);
            }
        }
        return model.forwardAll(c.inner, tokens);
    }

    @Override
    public float[] lastHiddenState(ModelState state) {
        return model.lastHiddenState(((Counted) state).inner);
    }

    @Override
    public void close() {
        // the wrapped model belongs to the test support
    }

    /** Blocks until {@code t} ends, keeping (not losing) an interrupt that arrives meanwhile. */
    static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
