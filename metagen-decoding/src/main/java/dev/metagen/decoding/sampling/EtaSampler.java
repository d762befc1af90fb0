package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Eta sampling: keep tokens with {@code p >= min(eta, sqrt(eta) * exp(-H))}, H the entropy (Hewitt et al., 2022,
 * "Truncation Sampling as Language Model Desmoothing"; Hugging Face's {@code eta_cutoff}).
 *
 * @param eta eta, in (0, 1)
 */
public record EtaSampler(double eta) implements Sampler {
    /** Checks eta. */
    public EtaSampler {
        if (!(eta > 0 && eta < 1)) {
            throw new MetagenException("eta must be in (0, 1), got " + eta);
        }
    }

    @Override
    public void apply(Candidates c) {
        double[] probs = c.probabilities();
        double threshold = Math.min(eta, Math.sqrt(eta) * Math.exp(-c.entropy()));
        c.retain(i -> probs[i] >= threshold);
    }
}
