package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.Arrays;

/**
 * Locally typical sampling (Meister et al., 2023, "Locally Typical Sampling"): order tokens by
 * {@code |-log p - H|} and keep the smallest such prefix whose probability exceeds {@code p} (llama.cpp's rule).
 *
 * @param p the kept mass, in (0, 1]
 */
public record TypicalPSampler(double p) implements Sampler {
    /** Checks {@code p}. */
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
        // order by |-log p - H| ascending (in float, as llama.cpp), ties by position; packed into longs so that a
        // large vocabulary sorts without boxing
        long[] order = new long[probs.length];
        for (int i = 0; i < probs.length; i++) {
            float shifted = probs[i] > 0 ? (float) Math.abs(-Math.log(probs[i]) - entropy) : Float.POSITIVE_INFINITY;
            order[i] = ((long) Float.floatToIntBits(shifted) << 32) | i; // non-negative floats order like their bits
        }
        Arrays.sort(order);
        boolean[] keep = new boolean[probs.length];
        double cum = 0;
        for (long o : order) {
            int i = (int) o;
            keep[i] = true;
            cum += probs[i];
            if (cum > p) {
                break;
            }
        }
        c.retain(i -> keep[i]);
    }
}
