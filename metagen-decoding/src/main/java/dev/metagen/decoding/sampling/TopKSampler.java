package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Top-k: keep the {@code k} most likely tokens (Fan et al., 2018, "Hierarchical Neural Story Generation").
 *
 * @param k how many tokens are kept ({@code >= 1})
 */
public record TopKSampler(int k) implements Sampler {
    /** Checks {@code k}. */
    public TopKSampler {
        if (k <= 0) {
            throw new MetagenException("top-k must be > 0, got " + k);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (k >= c.size()) {
            return;
        }
        c.keepTop(k);
    }
}
