package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Top-nσ: keep tokens whose logit is at least {@code max - n * σ}, σ the standard deviation of the finite logits
 * (Tang et al., 2024, "Top-nσ: Not All Logits Are You Need").
 *
 * @param n the width in standard deviations
 */
public record TopNSigmaSampler(double n) implements Sampler {
    /** Checks {@code n}. */
    public TopNSigmaSampler {
        if (!(n > 0) || Double.isInfinite(n)) {
            throw new MetagenException("top-n-sigma must be a finite number > 0, got " + n);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (c.size() <= 1) {
            return;
        }
        double sum = 0;
        int finite = 0;
        for (int i = 0; i < c.size(); i++) {
            if (c.logit(i) != Float.NEGATIVE_INFINITY) {
                sum += c.logit(i);
                finite++;
            }
        }
        if (finite == 0) {
            return;
        }
        double mean = sum / finite;
        double var = 0;
        for (int i = 0; i < c.size(); i++) {
            if (c.logit(i) != Float.NEGATIVE_INFINITY) {
                var += (c.logit(i) - mean) * (c.logit(i) - mean);
            }
        }
        double threshold = c.logit(c.argmax()) - n * Math.sqrt(var / finite);
        c.retain(i -> c.logit(i) >= threshold);
    }
}
