package dev.metagen.eval.report;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Accuracy at a smaller N estimated from one pool of N samples by averaging over its b-subsets, as self-consistency
 * evaluations do (Wang et al., 2023): lower-variance than the one prefix subset a sweep point uses. Best-of-N is
 * exact (the chosen candidate is the first of the subset in score order); majority voting is a Monte Carlo mean over
 * random subsets with the strategy's rules (answers vote, ties uniformly at random, the first sample with the winning
 * answer is returned, no answers at all return the first sample).
 */
public final class Subsampling {
    static final int DRAWS = 2000;

    private Subsampling() {
    }

    /**
     * Expected correctness of best-of-b over uniformly random b-subsets of the pool: with candidates ranked by score
     * (ties: lower index first), the one at rank r is chosen when it is in the subset and no better one is, which
     * has probability C(N-1-r, b-1) / C(N, b).
     */
    public static double bestOfN(double[] scores, boolean[] correct, int b) {
        int n = scores.length;
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        order.sort((x, y) -> scores[x] != scores[y] ? Double.compare(scores[y], scores[x]) : Integer.compare(x, y));
        double expected = 0;
        double denom = logChoose(n, b);
        for (int r = 0; r < n; r++) {
            if (correct[order.get(r)] && n - 1 - r >= b - 1) {
                expected += Math.exp(logChoose(n - 1 - r, b - 1) - denom);
            }
        }
        return expected;
    }

    /** Mean correctness of majority voting over random b-subsets of the pool ({@code answers[i]} null: no vote). */
    public static double majorityVote(String[] answers, boolean[] correct, int b, long seed) {
        int n = answers.length;
        SplittableRandom rng = new SplittableRandom(seed);
        int[] idx = new int[n];
        double sum = 0;
        for (int d = 0; d < DRAWS; d++) {
            for (int i = 0; i < n; i++) {
                idx[i] = i;
            }
            for (int i = 0; i < b; i++) { // partial Fisher-Yates: idx[0..b) is a uniform b-subset
                int j = i + rng.nextInt(n - i);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
            int[] subset = java.util.Arrays.copyOf(idx, b);
            java.util.Arrays.sort(subset);
            Map<String, Integer> votes = new HashMap<>();
            for (int i : subset) {
                if (answers[i] != null) {
                    votes.merge(answers[i], 1, Integer::sum);
                }
            }
            if (votes.isEmpty()) {
                sum += correct[subset[0]] ? 1 : 0;
                continue;
            }
            int best = votes.values().stream().max(Integer::compare).orElseThrow();
            List<String> top = votes.entrySet().stream().filter(e -> e.getValue() == best).map(Map.Entry::getKey).sorted().toList();
            String winner = top.get(rng.nextInt(top.size()));
            for (int i : subset) {
                if (winner.equals(answers[i])) {
                    sum += correct[i] ? 1 : 0;
                    break;
                }
            }
        }
        return sum / DRAWS;
    }

    static double logChoose(int n, int k) {
        double r = 0;
        for (int i = 1; i <= k; i++) {
            r += Math.log(n - k + i) - Math.log(i);
        }
        return r;
    }
}
