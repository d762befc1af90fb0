package dev.metagen.decoding.sampling;

import dev.metagen.core.SamplingConfig;
import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Each adapter on fixed logit vectors against distributions computed by hand from its definition. */
class AdaptersTest {
    /** p = 0.5, 0.3, 0.15, 0.05 for ids 0..3. */
    static final float[] FOUR = logitsOf(0.5, 0.3, 0.15, 0.05);

    static float[] logitsOf(double... p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            l[i] = (float) Math.log(p[i]);
        }
        return l;
    }

    static int[] kept(Candidates c) {
        int[] ids = new int[c.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = c.id(i);
        }
        Arrays.sort(ids);
        return ids;
    }

    static Candidates apply(Sampler s, float[] logits) {
        Candidates c = Candidates.of(logits);
        s.apply(c);
        return c;
    }

    static Candidates apply(Sampler s, float[] logits, int[] history, int generated) {
        Candidates c = Candidates.of(logits, history, generated);
        s.apply(c);
        return c;
    }

    @Test
    void temperatureZeroKeepsTheArgmaxWithTheLowestIdOnTies() {
        assertArrayEquals(new int[] {1}, kept(apply(new TemperatureSampler(0), new float[] {0f, 3f, 3f, 1f})));
        Candidates c = apply(new TemperatureSampler(0.5), new float[] {1f, 2f});
        assertEquals(2f, c.logit(0));
        assertEquals(4f, c.logit(1));
        assertThrows(MetagenException.class, () -> new TemperatureSampler(-1));
        assertThrows(MetagenException.class, () -> new TemperatureSampler(Double.POSITIVE_INFINITY));
    }

    @Test
    void dynamicTemperatureFollowsNormalisedEntropy() {
        // p = (0.880797, 0.119203): H = 0.365335 nats, H / ln 2 = 0.527067; T = 0.5 + 1.0 * 0.527067
        Candidates c = apply(new DynamicTemperatureSampler(1.0, 0.5, 1.0), new float[] {2f, 0f});
        assertEquals(2 / 1.027067, c.logit(0), 1e-5);
        assertEquals(0f, c.logit(1));
        // a uniform distribution has normalised entropy 1: T = t + range, logits stay 0
        Candidates u = apply(new DynamicTemperatureSampler(1.0, 0.5, 2.0), new float[] {0f, 0f, 0f});
        assertEquals(0f, u.logit(2));
    }

    @Test
    void minPKeepsTokensAtLeastMinPTimesTheTop() {
        assertArrayEquals(new int[] {0, 1, 2}, kept(apply(new MinPSampler(0.2), FOUR)));   // threshold 0.10
        assertArrayEquals(new int[] {0, 1}, kept(apply(new MinPSampler(0.5), FOUR)));      // threshold 0.25
        assertArrayEquals(new int[] {0}, kept(apply(new MinPSampler(1.0), FOUR)));
        assertArrayEquals(new int[] {0, 1, 2, 3}, kept(apply(new MinPSampler(0), FOUR)));
        Candidates c = apply(new MinPSampler(0.5), FOUR);
        assertEquals(0.5 / 0.8, c.probabilityOf(0), 1e-6);
        assertThrows(MetagenException.class, () -> new MinPSampler(1.5));
    }

    @Test
    void typicalPOrdersByDistanceFromTheEntropy() {
        // H = 1.1422 nats; |-ln p - H| = 0.449, 0.062, 0.755, 1.854 -> order ids 1, 0, 2, 3
        assertArrayEquals(new int[] {0, 1}, kept(apply(new TypicalPSampler(0.5), FOUR)));   // 0.3, 0.8 > 0.5
        assertArrayEquals(new int[] {1}, kept(apply(new TypicalPSampler(0.2), FOUR)));      // 0.3 > 0.2
        assertArrayEquals(new int[] {0, 1, 2}, kept(apply(new TypicalPSampler(0.9), FOUR))); // 0.95 > 0.9
        assertArrayEquals(new int[] {0, 1, 2, 3}, kept(apply(new TypicalPSampler(1.0), FOUR)));
        assertThrows(MetagenException.class, () -> new TypicalPSampler(0));
    }

    @Test
    void epsilonAndEtaCutOffSmallProbabilities() {
        assertArrayEquals(new int[] {0, 1, 2}, kept(apply(new EpsilonSampler(0.1), FOUR)));
        assertArrayEquals(new int[] {0}, kept(apply(new EpsilonSampler(0.4), FOUR)));
        // everything below epsilon: the most likely token stays
        assertArrayEquals(new int[] {0}, kept(apply(new EpsilonSampler(0.9), FOUR)));
        // eta: threshold min(eta, sqrt(eta) * exp(-1.1422)): eta 0.2 -> 0.1427, eta 0.3 -> 0.1748
        assertArrayEquals(new int[] {0, 1, 2}, kept(apply(new EtaSampler(0.2), FOUR)));
        assertArrayEquals(new int[] {0, 1}, kept(apply(new EtaSampler(0.3), FOUR)));
        assertArrayEquals(new int[] {0, 1, 2}, kept(apply(new EtaSampler(0.1), FOUR))); // threshold 0.1
        assertThrows(MetagenException.class, () -> new EpsilonSampler(0));
        assertThrows(MetagenException.class, () -> new EtaSampler(1));
    }

    @Test
    void topNSigmaKeepsLogitsWithinNStandardDeviationsOfTheMax() {
        // logits 4..0: mean 2, sigma sqrt(2)
        float[] l = {4f, 3f, 2f, 1f, 0f};
        assertArrayEquals(new int[] {0, 1}, kept(apply(new TopNSigmaSampler(1), l)));   // >= 2.586
        assertArrayEquals(new int[] {0, 1, 2}, kept(apply(new TopNSigmaSampler(2), l))); // >= 1.172
        // -inf logits are left out of the statistics: mean 3.5, sigma 0.5
        float[] masked = {4f, 3f, Float.NEGATIVE_INFINITY};
        assertArrayEquals(new int[] {0}, kept(apply(new TopNSigmaSampler(0.9), masked))); // >= 3.55
        assertThrows(MetagenException.class, () -> new TopNSigmaSampler(-1));
    }

    @Test
    void mirostatV2DropsSurprisingTokensAndTracksTheTarget() {
        MirostatV2Sampler m = new MirostatV2Sampler(2.0, 0.1); // mu = 4 bits: keeps p >= 1/16
        Candidates c = apply(m, FOUR);
        assertArrayEquals(new int[] {0, 1, 2}, kept(c));
        m.accept(1, c); // p = 0.3 / 0.95, surprise 1.6630 bits
        assertEquals(4 - 0.1 * (-Math.log(0.3 / 0.95) / Math.log(2) - 2), m.mu(), 1e-9);
    }

    @Test
    void mirostatV1KeepsTheTopKOfItsZipfEstimate() {
        // an exact Zipf distribution with s = 2 over N = 50 tokens: k = (2^mu / (1 - 1/50))^(1/2)
        double[] p = new double[50];
        double z = 0;
        for (int i = 0; i < p.length; i++) {
            z += p[i] = 1.0 / ((i + 1.0) * (i + 1.0));
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= z;
        }
        MirostatSampler m = new MirostatSampler(3.0, 0.1, 100); // mu = 6
        Candidates c = apply(m, logitsOf(p));
        assertEquals((int) Math.floor(Math.sqrt(64 / (1 - 1.0 / 50))), c.size()); // 8.08 -> 8
        m.accept(0, c);
        double surprise = -Math.log(c.probabilityOf(0)) / Math.log(2);
        assertEquals(6 - 0.1 * (surprise - 3), m.mu(), 1e-9);
    }

    @Test
    void xtcRemovesAllTopChoicesButTheLeastLikelyOne() {
        assertArrayEquals(new int[] {2, 3}, kept(apply(new XtcSampler(1.0, 0.1, 1), FOUR)));
        assertArrayEquals(new int[] {1, 2, 3}, kept(apply(new XtcSampler(1.0, 0.25, 1), FOUR)));
        // only one token above the threshold: nothing to exclude
        assertArrayEquals(new int[] {0, 1, 2, 3}, kept(apply(new XtcSampler(1.0, 0.4, 1), FOUR)));
        assertArrayEquals(new int[] {0, 1, 2, 3}, kept(apply(new XtcSampler(0.0, 0.1, 1), FOUR)));
        assertArrayEquals(new int[] {0, 1, 2, 3}, kept(apply(new XtcSampler(1.0, 0.6, 1), FOUR)));
    }

    @Test
    void penaltiesFollowLlamaCppDefinitions() {
        float[] l = {1f, 2f, -1f, 0.5f};
        int[] history = {1, 1, 2};
        Candidates c = apply(new PenaltySampler(64, 2.0, 0.5, 0.25), l, history, 3);
        assertEquals(1f, c.logit(0));
        assertEquals(2f / 2 - (2 * 0.5f + 0.25f), c.logit(1), 1e-6);   // positive: divided
        assertEquals(-1f * 2 - (0.5f + 0.25f), c.logit(2), 1e-6);       // negative: multiplied
        assertEquals(0.5f, c.logit(3));
        // a window of 1 sees only the last token
        Candidates w = apply(new PenaltySampler(1, 2.0, 0, 0), l, history, 3);
        assertEquals(2f, w.logit(1));
        assertEquals(-2f, w.logit(2));
        Candidates off = apply(new PenaltySampler(0, 2.0, 0, 0), l, history, 3);
        assertEquals(2f, off.logit(1));
        assertThrows(MetagenException.class, () -> new PenaltySampler(-2, 1, 0, 0));
        assertThrows(MetagenException.class, () -> new PenaltySampler(64, 0, 0, 0));
    }

    @Test
    void dryPenalisesTokensThatExtendARepeat() {
        float[] l = new float[16];
        int[] history = {10, 11, 12, 13, 10, 11}; // "10 11" repeats; 12 would extend it to length 3
        Candidates c = apply(new DrySampler(0.8, 1.75, 2, -1, Set.of()), l, history, 6);
        assertEquals(-0.8f, c.logit(12), 1e-6);
        for (int id = 0; id < 16; id++) {
            if (id != 12) {
                assertEquals(0f, c.logit(id), "token " + id);
            }
        }
        Candidates one = apply(new DrySampler(0.8, 1.75, 1, -1, Set.of()), l, history, 6);
        assertEquals(-0.8f * 1.75f, one.logit(12), 1e-6);
        assertEquals(0f, apply(new DrySampler(0.8, 1.75, 3, -1, Set.of()), l, history, 6).logit(12));
        // a sequence breaker inside the repeat shortens it to 1, below the allowed length
        assertEquals(0f, apply(new DrySampler(0.8, 1.75, 2, -1, Set.of(10)), l, history, 6).logit(12));
        // a window of 3 tokens no longer sees the first occurrence
        assertEquals(0f, apply(new DrySampler(0.8, 1.75, 2, 3, Set.of()), l, history, 6).logit(12));
    }

    @Test
    void noRepeatNgramBansCompletionsOfSeenNgrams() {
        float[] l = new float[8];
        Candidates c = apply(new NoRepeatNgramSampler(2), l, new int[] {5, 6, 5}, 3);
        assertEquals(Float.NEGATIVE_INFINITY, c.logit(6));
        assertEquals(0f, c.logit(5));
        Candidates t = apply(new NoRepeatNgramSampler(3), l, new int[] {1, 2, 3, 1, 2}, 5);
        assertEquals(Float.NEGATIVE_INFINITY, t.logit(3));
        assertEquals(0f, t.logit(2));
        // n = 1 bans every token seen
        Candidates u = apply(new NoRepeatNgramSampler(1), l, new int[] {4, 7}, 2);
        assertEquals(Float.NEGATIVE_INFINITY, u.logit(4));
        assertEquals(Float.NEGATIVE_INFINITY, u.logit(7));
        assertEquals(0f, u.logit(0));
    }

    @Test
    void logitBiasAddsAndBans() {
        Candidates c = apply(new LogitBiasSampler(Map.of(1, 2f, 2, Float.NEGATIVE_INFINITY)), new float[] {0f, 1f, 5f});
        assertEquals(3f, c.logit(1));
        assertEquals(Float.NEGATIVE_INFINITY, c.logit(2));
        assertEquals(0.0, c.probabilityOf(2));
        assertThrows(MetagenException.class, () -> new LogitBiasSampler(Map.of(1, Float.NaN)));
        assertThrows(MetagenException.class, () -> new LogitBiasSampler(Map.of(-1, 1f)));
        MetagenException e = assertThrows(MetagenException.class, () -> new LogitBiasSampler(Map.of(9, 1f)).checkVocabulary(4));
        assertTrue(e.getMessage().contains("9"), e.getMessage());
    }

    @Test
    void minTokensSuppressesEndTokensUntilReached() {
        MinTokensSampler m = new MinTokensSampler(2, Set.of(2));
        assertEquals(Float.NEGATIVE_INFINITY, apply(m, new float[] {0f, 0f, 9f}, new int[] {1, 5}, 1).logit(2));
        assertEquals(9f, apply(m, new float[] {0f, 0f, 9f}, new int[] {1, 5, 6}, 2).logit(2));
    }

    @Test
    void edgeCases() {
        // k larger than the vocabulary, p = 1: everything stays
        assertEquals(4, apply(new TopKSampler(100), FOUR).size());
        assertEquals(4, apply(new TopPSampler(1.0), FOUR).size());
        // ties at the top-k boundary: lowest ids win
        assertArrayEquals(new int[] {0, 1}, kept(apply(new TopKSampler(2), new float[] {1f, 1f, 1f})));
        // NaN and +inf logits are rejected, -inf is a masked token
        assertThrows(MetagenException.class, () -> Candidates.of(new float[] {0f, Float.NaN}));
        assertThrows(MetagenException.class, () -> Candidates.of(new float[] {Float.POSITIVE_INFINITY}));
        Candidates masked = Candidates.of(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY});
        MetagenException e = assertThrows(MetagenException.class, masked::probabilities);
        assertTrue(e.getMessage().contains("masked"));
        // a chain that masks every token fails with the same clear message
        SamplerChain all = SamplerChain.build(new SamplingConfig().logitBias(Map.of(0, Float.NEGATIVE_INFINITY,
                1, Float.NEGATIVE_INFINITY)).seed(1), null);
        assertThrows(MetagenException.class, () -> all.sample(new float[] {1f, 2f}));
    }

    @Test
    void badParametersAreRejectedWithClearMessages() {
        SamplingConfig c = new SamplingConfig();
        assertThrows(MetagenException.class, () -> c.topK(-1));
        assertThrows(MetagenException.class, () -> c.topP(0));
        assertThrows(MetagenException.class, () -> c.topP(1.01));
        assertThrows(MetagenException.class, () -> c.minP(-0.1));
        assertThrows(MetagenException.class, () -> c.typicalP(2));
        assertThrows(MetagenException.class, () -> c.temperature(Double.NaN));
        assertThrows(MetagenException.class, () -> c.mirostat(3, 5, 0.1));
        assertThrows(MetagenException.class, () -> c.penalties(1, 0, 0, -5));
        assertThrows(MetagenException.class, () -> c.dry(1, 0.5, 2, -1));
        MetagenException e = assertThrows(MetagenException.class, () -> c.samplers("top_k;bogus"));
        assertTrue(e.getMessage().contains("bogus"), e.getMessage());
        assertEquals(List.of("top_k", "typ_p", "temperature"), c.samplers("top-k;typical;temp").samplers());
    }

    @Test
    void sortingAndPartialTopKMatchTheReferenceOrder() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        float[] l = new float[128_256];
        for (int i = 0; i < l.length; i++) {
            // few distinct values, both signs, -inf and signed zeros: many ties
            int v = r.nextInt(41) - 20;
            l[i] = v == 20 ? Float.NEGATIVE_INFINITY : v == 0 ? (r.nextBoolean() ? 0f : -0f) : v / 4f;
        }
        Integer[] ref = new Integer[l.length];
        for (int i = 0; i < ref.length; i++) {
            ref[i] = i;
        }
        Arrays.sort(ref, (a, b) -> {
            int c = Float.compare(l[b], l[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        Candidates all = Candidates.of(l);
        all.sortDescending();
        for (int i = 0; i < ref.length; i++) {
            assertEquals(ref[i], all.id(i), "rank " + i);
            assertEquals(l[ref[i]], all.logit(i));
        }
        for (int k : new int[] {1, 40, 5000}) {
            Candidates top = Candidates.of(l);
            top.keepTop(k);
            assertEquals(k, top.size());
            for (int i = 0; i < k; i++) {
                assertEquals(ref[i], top.id(i), "top-" + k + " rank " + i);
            }
        }
    }
}
