package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches {@code p}
 * (Holtzman et al., 2020, "The Curious Case of Neural Text Degeneration").
 *
 * @param p the kept probability mass, in (0, 1]
 */
public record TopPSampler(double p) implements Sampler {
    /** Checks {@code p}. */
    public TopPSampler {
        if (!(p > 0 && p <= 1)) {
            throw new MetagenException("top-p must be in (0, 1], got " + p);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (p >= 1.0) {
            return;
        }
        c.sortDescending();
        double[] probs = c.probabilities();
        double cum = 0;
        for (int i = 0; i < probs.length; i++) {
            cum += probs[i];
            if (cum >= p) {
                c.truncate(i + 1);
                return;
            }
        }
    }
}
