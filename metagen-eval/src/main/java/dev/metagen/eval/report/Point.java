package dev.metagen.eval.report;

import java.util.Map;

/**
 * The aggregate of one strategy at one budget over the problems.
 *
 * @param passAtK             unbiased pass@k (Chen et al., 2021) over the candidates each run drew, by k; empty
 *                            when runs report no candidates
 * @param subsampledAccuracy  best-of-N and majority voting: accuracy at this N averaged over the N-subsets of the
 *                            largest budget's pool ({@link Subsampling}); null for other strategies
 */
public record Point(String strategy, int budget, int problems, int correct, double accuracy, Wilson ci,
                    double meanPromptTokens, double meanGeneratedTokens, double meanModelCalls, double meanToolCalls,
                    double meanWallMs, double meanSpentGeneratedTokens, int errors, Map<Integer, Double> passAtK,
                    Double subsampledAccuracy) {
}
