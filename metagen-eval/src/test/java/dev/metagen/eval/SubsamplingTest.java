package dev.metagen.eval;

import dev.metagen.eval.report.Subsampling;
import dev.metagen.eval.report.Wilson;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The subset-averaged estimators against brute-force enumeration of every subset; the Wilson interval against known values. */
class SubsamplingTest {
    @Test
    void bestOfNIsTheExactMeanOverAllSubsets() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int trial = 0; trial < 50; trial++) {
            int n = 1 + rng.nextInt(9);
            double[] scores = new double[n];
            boolean[] correct = new boolean[n];
            for (int i = 0; i < n; i++) {
                scores[i] = rng.nextInt(4); // ties on purpose: the lower index wins, as in BestOfN
                correct[i] = rng.nextBoolean();
            }
            for (int b = 1; b <= n; b++) {
                double sum = 0;
                List<int[]> subsets = subsets(n, b);
                for (int[] s : subsets) {
                    int best = s[0];
                    for (int i : s) {
                        if (scores[i] > scores[best]) {
                            best = i;
                        }
                    }
                    sum += correct[best] ? 1 : 0;
                }
                assertEquals(sum / subsets.size(), Subsampling.bestOfN(scores, correct, b), 1e-9, "n=" + n + " b=" + b);
            }
        }
    }

    @Test
    void majorityVoteMatchesEnumerationWithinMonteCarloError() {
        String[] answers = {"4", "5", "4", null, "6", "5", "4"};
        boolean[] correct = {true, false, true, false, false, false, true};
        for (int b = 1; b <= answers.length; b++) {
            double exact = 0;
            List<int[]> subsets = subsets(answers.length, b);
            for (int[] s : subsets) {
                Map<String, Integer> votes = new HashMap<>();
                for (int i : s) {
                    if (answers[i] != null) {
                        votes.merge(answers[i], 1, Integer::sum);
                    }
                }
                if (votes.isEmpty()) {
                    exact += correct[s[0]] ? 1 : 0;
                    continue;
                }
                int max = votes.values().stream().max(Integer::compare).orElseThrow();
                long top = votes.values().stream().filter(v -> v == max).count();
                // ties uniformly at random: the chance the correct answer "4" wins
                exact += votes.getOrDefault("4", 0) == max ? 1.0 / top : 0;
            }
            exact /= subsets.size();
            assertEquals(exact, Subsampling.majorityVote(answers, correct, b, 9), 0.03, "b=" + b);
        }
    }

    static List<int[]> subsets(int n, int k) {
        List<int[]> out = new ArrayList<>();
        for (int mask = 0; mask < 1 << n; mask++) {
            if (Integer.bitCount(mask) == k) {
                int[] s = new int[k];
                int j = 0;
                for (int i = 0; i < n; i++) {
                    if ((mask & 1 << i) != 0) {
                        s[j++] = i;
                    }
                }
                out.add(s);
            }
        }
        return out;
    }

    @Test
    void wilsonInterval() {
        Wilson w = Wilson.of(8, 10, Wilson.Z95); // Wilson (1927); e.g. the 95% interval for 8/10 is [0.490, 0.943]
        assertEquals(0.490, w.low(), 1e-3);
        assertEquals(0.943, w.high(), 1e-3);
        assertEquals(0.0, Wilson.of(0, 5, Wilson.Z95).low());
        assertEquals(1.0, Wilson.of(5, 5, Wilson.Z95).high());
        assertTrue(Wilson.of(0, 5, Wilson.Z95).high() < 0.5);
    }
}
