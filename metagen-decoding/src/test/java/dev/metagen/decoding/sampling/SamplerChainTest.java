package dev.metagen.decoding.sampling;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SamplerChainTest {

    private static GenerationParams params(double t, int k, double p, long seed) {
        return new GenerationParams(16, t, k, p, seed, true, List.of());
    }

    @Test
    void greedyTakesArgmaxAndLowestIdOnTies() {
        SamplerChain g = SamplerChain.from(params(0, 0, 1, 1));
        assertTrue(g.isGreedy());
        assertEquals(2, g.sample(new float[] {0f, 1f, 3f, 3f, -1f}));
        assertEquals(0, g.sample(new float[] {5f, 5f}));
    }

    @Test
    void topKKeepsTheKLargest() {
        Candidates c = Candidates.of(new float[] {1f, 4f, 2f, 3f});
        new TopKSampler(2).apply(c);
        assertEquals(2, c.size());
        assertEquals(1, c.id(0));
        assertEquals(3, c.id(1));
        Candidates all = Candidates.of(new float[] {1f, 2f});
        new TopKSampler(10).apply(all); // k larger than the vocabulary keeps everything
        assertEquals(2, all.size());
        assertThrows(MetagenException.class, () -> new TopKSampler(-1));
    }

    @Test
    void topPKeepsSmallestPrefixReachingP() {
        // probabilities 0.5, 0.25, 0.125, 0.125
        float[] logits = {(float) Math.log(0.125), (float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.125)};
        Candidates c = Candidates.of(logits);
        new TopPSampler(0.7).apply(c);
        assertEquals(2, c.size());
        assertEquals(1, c.id(0));
        assertEquals(2, c.id(1));
        Candidates exact = Candidates.of(logits);
        new TopPSampler(0.75).apply(exact); // cumulative 0.75 reached exactly at two tokens
        assertEquals(2, exact.size());
        Candidates one = Candidates.of(logits);
        new TopPSampler(1.0).apply(one);
        assertEquals(4, one.size());
        assertThrows(MetagenException.class, () -> new TopPSampler(0));
        assertThrows(MetagenException.class, () -> new TopPSampler(1.5));
    }

    @Test
    void temperatureScalesLogits() {
        Candidates c = Candidates.of(new float[] {2f, 4f});
        new TemperatureSampler(2.0).apply(c);
        assertEquals(1f, c.logit(0));
        assertEquals(2f, c.logit(1));
        assertThrows(MetagenException.class, () -> new TemperatureSampler(-0.5));
    }

    @Test
    void nanLogitsAreRejected() {
        assertThrows(MetagenException.class, () -> Candidates.of(new float[] {0f, Float.NaN}));
        SamplerChain s = SamplerChain.from(params(1, 0, 1, 1));
        float[] masked = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
        MetagenException e = assertThrows(MetagenException.class, () -> s.sample(masked));
        assertTrue(e.getMessage().contains("masked"));
    }

    @Test
    void samplingIsReproducibleForASeedAndFollowsTheDistribution() {
        float[] logits = {(float) Math.log(0.6), (float) Math.log(0.3), (float) Math.log(0.1)};
        int[] a = draw(SamplerChain.from(params(1, 0, 1, 42)), logits, 20000);
        int[] b = draw(SamplerChain.from(params(1, 0, 1, 42)), logits, 20000);
        assertArrayEquals(a, b);
        double[] expected = {0.6, 0.3, 0.1};
        // chi-squared with 2 degrees of freedom; 13.8 is the 0.999 quantile
        double chi2 = 0;
        for (int i = 0; i < 3; i++) {
            double e = expected[i] * 20000;
            chi2 += (a[i] - e) * (a[i] - e) / e;
        }
        assertTrue(chi2 < 13.8, "chi2 = " + chi2);
        // top-k 1 always picks the most likely token
        int[] k1 = draw(SamplerChain.from(params(1, 1, 1, 7)), logits, 1000);
        assertEquals(1000, k1[0]);
    }

    private static int[] draw(SamplerChain chain, float[] logits, int n) {
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) {
            counts[chain.sample(logits)]++;
        }
        return counts;
    }
}
