package dev.metagen.control;

import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.Sampler;

/**
 * A {@link Sampler} adapter that masks the candidates outside a constraint state's allowed set (llama.cpp's
 * grammar sampler); the caller advances {@link #state(ConstraintState)} after each chosen token. Put it first in a
 * chain; for greedy decoding, mask the logits with {@link ConstrainedGenerator#applyMask} instead.
 */
public final class ConstraintSampler implements Sampler {
    private ConstraintState state;

    public ConstraintSampler(ConstraintState start) {
        this.state = start;
    }

    public ConstraintState state() {
        return state;
    }

    public void state(ConstraintState next) {
        this.state = next;
    }

    /** Advances on the chosen token. */
    public void accept(int token) {
        state = state.advance(token);
    }

    @Override
    public void apply(Candidates c) {
        long[] mask = state.allowed();
        for (int i = 0; i < c.size(); i++) {
            int id = c.id(i);
            if ((mask[id >>> 6] >>> (id & 63) & 1L) == 0) {
                c.setLogit(i, Float.NEGATIVE_INFINITY);
            }
        }
    }
}
