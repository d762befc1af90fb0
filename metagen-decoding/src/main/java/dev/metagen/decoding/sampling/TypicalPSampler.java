package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Locally typical sampling (Meister et al., 2023, "Locally Typical Sampling"): order tokens by
 * {@code |-log p - H|} and keep the smallest such prefix whose probability exceeds {@code p} (llama.cpp's rule).
 */
public record TypicalPSampler(double p) implements Sampler {
    public TypicalPSampler {
        if (!(p > 0 && p <= 1)) {
            throw new MetagenException("typical-p must be in (0, 1], got " + p);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (p >= 1.0) {
            return;
        }
        double[] probs = c.probabilities();
        double entropy = c.entropy();
        Integer[] order = new Integer[probs.length];
        double[] shifted = new double[probs.length];
        for (int i = 0; i < probs.length; i++) {
            order[i] = i;
            shifted[i] = probs[i] > 0 ? Math.abs(-Math.log(probs[i]) - entropy) : Double.POSITIVE_INFINITY;
        }
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> shifted[i]).thenComparingInt(c::id));
        boolean[] keep = new boolean[probs.length];
        double cum = 0;
        for (Integer i : order) {
            keep[i] = true;
            cum += probs[i];
            if (cum > p) {
                break;
            }
        }
        c.retain(i -> keep[i]);
    }
}
