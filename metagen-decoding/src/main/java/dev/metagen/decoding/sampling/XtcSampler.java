package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.SplittableRandom;

/**
 * XTC, "exclude top choices" (Weidmann, text-generation-webui PR #6335; llama.cpp {@code xtc}): with probability
 * {@code probability}, drop every token with {@code p >= threshold} except the least likely of them, when at
 * least two are above the threshold.
 */
public final class XtcSampler implements Sampler {
    private final double probability;
    private final double threshold;
    private final SplittableRandom random;

    /**
     * XTC with its own random source.
     *
     * @param probability the chance per step, in [0, 1]
     * @param threshold the probability threshold, in [0, 1]
     * @param seed the seed of its draws
     */
    public XtcSampler(double probability, double threshold, long seed) {
        if (!(probability >= 0 && probability <= 1)) {
            throw new MetagenException("xtc probability must be in [0, 1], got " + probability);
        }
        if (!(threshold >= 0 && threshold <= 1)) {
            throw new MetagenException("xtc threshold must be in [0, 1], got " + threshold);
        }
        this.probability = probability;
        this.threshold = threshold;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public void apply(Candidates c) {
        // a threshold above 0.5 can never have two tokens above it
        if (probability <= 0 || threshold > 0.5 || c.size() < 2) {
            return;
        }
        if (random.nextDouble() >= probability) {
            return;
        }
        c.sortDescending();
        double[] p = c.probabilities();
        int last = -1;
        for (int i = 0; i < p.length && p[i] >= threshold; i++) {
            last = i;
        }
        if (last >= 1) {
            int from = last;
            c.retain(i -> i >= from);
        }
    }
}
