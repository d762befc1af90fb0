package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Epsilon sampling: keep tokens with {@code p >= epsilon} (Hewitt et al., 2022, "Truncation Sampling as
 * Language Model Desmoothing"; Hugging Face's {@code epsilon_cutoff}).
 *
 * @param epsilon the probability threshold, in (0, 1)
 */
public record EpsilonSampler(double epsilon) implements Sampler {
    /** Checks epsilon. */
    public EpsilonSampler {
        if (!(epsilon > 0 && epsilon < 1)) {
            throw new MetagenException("epsilon must be in (0, 1), got " + epsilon);
        }
    }

    @Override
    public void apply(Candidates c) {
        double[] probs = c.probabilities();
        c.retain(i -> probs[i] >= epsilon);
    }
}
