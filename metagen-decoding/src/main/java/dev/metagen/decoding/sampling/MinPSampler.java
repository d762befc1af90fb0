package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Min-p: keep tokens with {@code p >= minP * p_max} (Nguyen et al., 2024, "Turning Up the Heat: Min-p
 * Sampling"); computed in logit space, {@code logit >= max + ln(minP)}, as llama.cpp does.
 *
 * @param minP the ratio to the top probability, in [0, 1]
 */
public record MinPSampler(double minP) implements Sampler {
    /** Checks {@code minP}. */
    public MinPSampler {
        if (!(minP >= 0 && minP <= 1)) {
            throw new MetagenException("min-p must be in [0, 1], got " + minP);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (minP == 0) {
            return;
        }
        float max = c.logit(c.argmax());
        double threshold = max + Math.log(minP);
        c.retain(i -> c.logit(i) >= threshold);
    }
}
