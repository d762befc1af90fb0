package dev.metagen.decoding.sampling;

import dev.metagen.core.SamplingConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Draws follow the adapted distribution: over 20,000 draws with a fixed seed, Pearson's chi-squared statistic
 * against the hand-computed adapted probabilities stays below the 0.999 quantile of its chi-squared
 * distribution (significance 0.001; a correct sampler fails with probability 0.1 % per seed, and the seeds are
 * fixed, so the test is deterministic).
 */
class ChiSquaredTest {
    static final int DRAWS = 20_000;
    /** 0.999 quantiles of chi-squared with 1..4 degrees of freedom. */
    static final double[] CRITICAL = {0, 10.828, 13.816, 16.266, 18.467};

    static final float[] LOGITS = {2.0f, 1.5f, 1.0f, 0.2f, -1.0f};

    static double[] softmax(double... l) {
        double z = 0;
        double[] p = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            z += p[i] = Math.exp(l[i]);
        }
        for (int i = 0; i < l.length; i++) {
            p[i] /= z;
        }
        return p;
    }

    static void assertFollows(SamplerChain chain, double[] expected) {
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[chain.sample(LOGITS)]++;
        }
        double chi2 = 0;
        int cells = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " has probability 0 but was drawn");
                continue;
            }
            double e = expected[i] * DRAWS;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            cells++;
        }
        assertTrue(chi2 < CRITICAL[cells - 1], "chi2 = " + chi2 + " with " + (cells - 1) + " degrees of freedom");
    }

    @Test
    void topKThenTemperature() {
        // top-3 of the logits, divided by 2
        double[] p = softmax(1.0, 0.75, 0.5);
        assertFollows(SamplerChain.build(new SamplingConfig().topK(3).temperature(2).seed(11), null),
                new double[] {p[0], p[1], p[2], 0, 0});
    }

    @Test
    void minPThenTemperature() {
        // p = softmax(LOGITS) = 0.4567, 0.2770, 0.1680, 0.0755, 0.0227: min-p 0.3 keeps p >= 0.137 (ids 0-2)
        double[] p = softmax(2.0 / 0.7, 1.5 / 0.7, 1.0 / 0.7);
        assertFollows(SamplerChain.build(new SamplingConfig().minP(0.3).temperature(0.7).seed(12), null),
                new double[] {p[0], p[1], p[2], 0, 0});
    }

    @Test
    void fullDistributionAndTopP() {
        assertFollows(SamplerChain.build(new SamplingConfig().seed(13), null), softmax(2.0, 1.5, 1.0, 0.2, -1.0));
        // top-p 0.8: cumulative 0.4567, 0.7337, 0.9018 -> three tokens
        double[] p = softmax(2.0, 1.5, 1.0);
        assertFollows(SamplerChain.build(new SamplingConfig().topP(0.8).seed(14), null), new double[] {p[0], p[1], p[2], 0, 0});
    }

    @Test
    void typicalEpsilonAndEta() {
        // H = 1.2943 nats; |-ln p - H| = 0.511, 0.011, 0.489, 1.289, 2.489: typical order ids 1, 2, 0, 3, 4,
        // cumulative 0.277, 0.445, 0.902 > 0.9 -> ids 0-2
        double[] p3 = softmax(2.0, 1.5, 1.0);
        assertFollows(SamplerChain.build(new SamplingConfig().typicalP(0.9).seed(15), null), new double[] {p3[0], p3[1], p3[2], 0, 0});
        // eta 0.1: threshold min(0.1, sqrt(0.1) e^-1.2943 = 0.0867) drops 0.0755 and 0.0227
        assertFollows(SamplerChain.build(new SamplingConfig().eta(0.1).seed(16), null), new double[] {p3[0], p3[1], p3[2], 0, 0});
        // epsilon 0.05 drops only 0.0227
        double[] p4 = softmax(2.0, 1.5, 1.0, 0.2);
        assertFollows(SamplerChain.build(new SamplingConfig().epsilon(0.05).seed(19), null), new double[] {p4[0], p4[1], p4[2], p4[3], 0});
    }

    @Test
    void sameSeedSameDraws() {
        int[] a = new int[200];
        int[] b = new int[200];
        SamplerChain x = SamplerChain.build(new SamplingConfig().seed(99).xtc(0.5, 0.1), null);
        SamplerChain y = SamplerChain.build(new SamplingConfig().seed(99).xtc(0.5, 0.1), null);
        for (int i = 0; i < a.length; i++) {
            a[i] = x.sample(LOGITS);
            b[i] = y.sample(LOGITS);
        }
        assertArrayEquals(a, b);
    }
}
