package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.RegexVerifier;
import dev.metagen.meta.testing.CategoricalGenerator;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The parallel strategies against exact probabilities: a seeded generator with a known answer distribution is run
 * over many independent seeds and the empirical success rate is compared with the closed form, within 4 standard
 * errors (a false alarm has probability below 1e-4 per check).
 */
class ParallelStatisticsTest {
    static final Prompt Q = Prompt.of("What is the answer?");
    static final String[] ANSWERS = {"A", "B", "C"};

    static GenerationParams params(long seed) {
        return new GenerationParams(16, 1.0, 0, 1.0, seed, true, List.of());
    }

    /** P(answer 0 wins the vote) over n samples, ties broken uniformly: a sum over all count vectors. */
    static double exactMajority(double[] p, int n) {
        double total = 0;
        for (int a = 0; a <= n; a++) {
            for (int b = 0; a + b <= n; b++) {
                int c = n - a - b;
                double prob = multinomial(n, a, b, c) * Math.pow(p[0], a) * Math.pow(p[1], b) * Math.pow(p[2], c);
                int max = Math.max(a, Math.max(b, c));
                if (a == max) {
                    int tied = (a == max ? 1 : 0) + (b == max ? 1 : 0) + (c == max ? 1 : 0);
                    total += prob / tied;
                }
            }
        }
        return total;
    }

    static double multinomial(int n, int a, int b, int c) {
        return factorial(n) / (factorial(a) * factorial(b) * factorial(c));
    }

    static double factorial(int n) {
        double f = 1;
        for (int i = 2; i <= n; i++) {
            f *= i;
        }
        return f;
    }

    static void assertNear(double exact, double observed, int trials) {
        double se = Math.sqrt(exact * (1 - exact) / trials);
        assertTrue(Math.abs(observed - exact) <= 4 * se,
                "observed " + observed + " vs exact " + exact + " (4 se = " + 4 * se + ")");
    }

    @Test
    void singleSampleDistributionIsTheStatedOne() {
        double[] p = {0.45, 0.35, 0.20};
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, p);
        int trials = 20000;
        int hits = 0;
        for (int t = 0; t < trials; t++) {
            if (g.generate(Q, params(dev.metagen.meta.Seeds.derive(7, t))).text().contains(" A.")) {
                hits++;
            }
        }
        assertNear(0.45, hits / (double) trials, trials);
    }

    @Test
    void majorityVoteAccuracyMatchesTheExactMultinomialValue() {
        double[] p = {0.45, 0.35, 0.20};
        int n = 5;
        int trials = 3000;
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, p);
        MajorityVote vote = new MajorityVote(g, n, AnswerExtractors.regex("answer is (\\w+)", 1));
        int correct = 0;
        for (int t = 0; t < trials; t++) {
            Generation r = vote.generate(Q, params(t));
            if ("A".equals(r.trace().get("answer"))) {
                correct++;
            }
            assertEquals(n, r.cost().generatedTokens());
        }
        double exact = exactMajority(p, n);
        assertEquals(0.5148, exact, 0.05, "sanity: voting over 5 beats one sample's 0.45");
        assertTrue(exact > 0.45);
        assertNear(exact, correct / (double) trials, trials);
    }

    @Test
    void bestOfNWithAPerfectVerifierMatchesOneMinusOneMinusPToTheN() {
        double p = 0.3;
        int n = 4;
        int trials = 3000;
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, new double[]{p, 0.5, 0.2});
        BestOfN best = new BestOfN(g, n, RegexVerifier.of("answer is A\\."));
        int correct = 0;
        for (int t = 0; t < trials; t++) {
            if (best.generate(Q, params(t)).text().equals("The answer is A.")) {
                correct++;
            }
        }
        assertNear(1 - Math.pow(1 - p, n), correct / (double) trials, trials);
    }

    @Test
    void weightedVoteWithAPerfectVerifierAsWeightsMatchesOneMinusOneMinusPToTheN() {
        // wrong answers weigh 0, so the right answer wins whenever one sample has it
        double p = 0.25;
        int n = 3;
        int trials = 3000;
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, new double[]{p, 0.45, 0.30});
        var vote = new WeightedMajorityVote(g, n, AnswerExtractors.regex("answer is (\\w+)", 1),
                RegexVerifier.of("answer is A\\."), false);
        int correct = 0;
        for (int t = 0; t < trials; t++) {
            if ("A".equals(vote.generate(Q, params(t)).trace().get("answer"))) {
                correct++;
            }
        }
        assertNear(1 - Math.pow(1 - p, n), correct / (double) trials, trials);
    }

    @Test
    void mbrWithExactMatchPicksTheMostFrequentText() {
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, new double[]{0.4, 0.35, 0.25});
        for (int t = 0; t < 200; t++) {
            Generation r = new MinimumBayesRisk(g, 7, dev.metagen.meta.score.Utilities.exactMatch()).generate(Q, params(t));
            @SuppressWarnings("unchecked")
            List<java.util.Map<String, Object>> rows = (List<java.util.Map<String, Object>>) r.trace().get("candidates");
            java.util.Map<String, Integer> counts = new java.util.HashMap<>();
            rows.forEach(row -> counts.merge((String) row.get("text"), 1, Integer::sum));
            int max = counts.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
            assertEquals(max, counts.get(r.text()), "MBR under exact match is the mode");
        }
    }

    @Test
    void uscChoosesTheResponseTheSelectorNames() {
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, new double[]{0.4, 0.35, 0.25});
        java.util.List<String> seen = new java.util.ArrayList<>();
        dev.metagen.core.Generator selector = (prompt, p) -> {
            seen.add(prompt.text());
            return new Generation("2, because", new int[]{2}, new double[]{0}, dev.metagen.core.FinishReason.STOP,
                    new dev.metagen.core.Cost(1, 1, 1, 0, java.time.Duration.ZERO), java.util.Map.of());
        };
        Generation r = new UniversalSelfConsistency(g, 4, selector, UniversalSelfConsistency.DEFAULT_TEMPLATE,
                GenerationParams.greedy(4)).generate(Q, params(3));
        assertEquals(2, r.trace().get("chosen"));
        assertEquals(true, r.trace().get("selection_parsed"));
        assertTrue(seen.getFirst().contains("Response 3:"), seen.getFirst());
        @SuppressWarnings("unchecked")
        List<java.util.Map<String, Object>> rows = (List<java.util.Map<String, Object>>) r.trace().get("candidates");
        assertEquals(rows.get(2).get("text"), r.text());
        assertEquals(5, r.cost().modelCalls());
    }

    @Test
    void rejectionSamplingAcceptsWithProbabilityOneMinusOneMinusPToTheMax() {
        double p = 0.2;
        int max = 5;
        int trials = 3000;
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, new double[]{p, 0.5, 0.3});
        RejectionSampling rs = new RejectionSampling(g, RegexVerifier.of("answer is A\\."), max, 1);
        int accepted = 0;
        long samples = 0;
        for (int t = 0; t < trials; t++) {
            Generation r = rs.generate(Q, params(t));
            if (Boolean.TRUE.equals(r.trace().get("accepted"))) {
                accepted++;
                assertEquals("The answer is A.", r.text());
            }
            samples += (int) r.trace().get("samples");
        }
        assertNear(1 - Math.pow(1 - p, max), accepted / (double) trials, trials);
        // the number of draws is a truncated geometric: E = (1 - (1-p)^max) / p
        double expected = (1 - Math.pow(1 - p, max)) / p;
        assertEquals(expected, samples / (double) trials, 0.08);
    }

    @Test
    void adaptiveConsistencySpendsFewerSamplesAtEqualAccuracy() {
        // the paper's regime: a model that is usually right; simulation gives about 10 of 16 samples, equal accuracy
        double[] p = {0.7, 0.2, 0.1};
        int n = 16;
        int trials = 2000;
        CategoricalGenerator g = new CategoricalGenerator(ANSWERS, p);
        var extractor = AnswerExtractors.regex("answer is (\\w+)", 1);
        AdaptiveConsistency adaptive = new AdaptiveConsistency(g, extractor, n, 0.95, 1);
        int correct = 0;
        long samples = 0;
        for (int t = 0; t < trials; t++) {
            Generation r = adaptive.generate(Q, params(t));
            if ("A".equals(r.trace().get("answer"))) {
                correct++;
            }
            samples += r.cost().generatedTokens();
        }
        double fixed = exactMajority(p, n);
        double acc = correct / (double) trials;
        double meanSamples = samples / (double) trials;
        assertTrue(meanSamples < 0.7 * n, "adaptive used " + meanSamples + " of " + n + " samples on average");
        // equal accuracy: within 2 points of always spending all 16 samples
        assertTrue(acc >= fixed - 0.02, "adaptive accuracy " + acc + " vs fixed-16 " + fixed);
    }

    @Test
    void betaStoppingCriterionMatchesNumericIntegration() {
        for (int v1 = 0; v1 <= 12; v1++) {
            for (int v2 = 0; v2 <= 12; v2++) {
                double a = v1 + 1;
                double b = v2 + 1;
                // Simpson's rule on the Beta(a, b) density over (1/2, 1)
                int steps = 2000;
                double h = 0.5 / steps;
                double sum = 0;
                double logBeta = lgamma(a) + lgamma(b) - lgamma(a + b);
                for (int i = 0; i <= steps; i++) {
                    double x = 0.5 + i * h;
                    double f = x >= 1 ? (b == 1 ? Math.exp(-logBeta) : 0)
                            : Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log(1 - x) - logBeta);
                    sum += f * (i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2));
                }
                double numeric = sum * h / 3;
                assertEquals(numeric, AdaptiveConsistency.probabilityLeaderIsMode(v1, v2), 1e-6, v1 + "," + v2);
            }
        }
    }

    /** log Gamma for positive integers, which is all the test needs. */
    static double lgamma(double x) {
        return Math.log(factorial((int) x - 1));
    }
}
