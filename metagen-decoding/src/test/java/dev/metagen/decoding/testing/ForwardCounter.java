package dev.metagen.decoding.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * A language model that counts what it is asked to do: batched {@code forward} calls (what {@code Cost.modelCalls}
 * counts) and the tokens they carry, and can run a hook at the start of every call (given the call's number, from 1) before it computes.
 */
public final class ForwardCounter implements LanguageModel {
    private final LanguageModel model;
    public final AtomicLong calls = new AtomicLong();
    /** Tokens handed to the model in all calls (the rows it is asked to compute). */
    public final AtomicLong rows = new AtomicLong();
    private volatile LongConsumer onCall = n -> {};

    public ForwardCounter(LanguageModel model) {
        this.model = model;
    }

    /** Runs {@code hook} on the calling thread at the start of every forward call. */
    public ForwardCounter onCall(LongConsumer hook) {
        this.onCall = hook;
        return this;
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
        return model.newState();
    }

    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        onCall.accept(calls.incrementAndGet());
        for (int[] t : tokens) {
            rows.addAndGet(t.length);
        }
        return model.forward(states, tokens);
    }

    @Override
    public float[] lastHiddenState(ModelState state) {
        return model.lastHiddenState(state);
    }

    @Override
    public void close() {
        // the wrapped model belongs to the test class
    }
}
