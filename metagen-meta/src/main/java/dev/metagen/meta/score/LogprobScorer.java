package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;

/**
 * The model's own log-probability of a candidate: the sum, or length-normalised as sum / length^alpha
 * (alpha = 1 is the mean; Wu et al., 2016, length penalty). An empty candidate scores 0.
 *
 * @param normalised whether the sum is divided by length^alpha
 * @param alpha the length exponent
 */
public record LogprobScorer(boolean normalised, double alpha) implements Scorer {
    /**
     * The summed log-probability.
     *
     * @return the scorer
     */
    public static LogprobScorer sum() {
        return new LogprobScorer(false, 0);
    }

    /**
     * The mean log-probability per token.
     *
     * @return the scorer
     */
    public static LogprobScorer mean() {
        return new LogprobScorer(true, 1);
    }

    @Override
    public double score(Prompt prompt, Generation candidate) {
        double s = candidate.sumLogprob();
        int n = candidate.logprobs().length;
        if (!normalised || n == 0) {
            return s;
        }
        return s / Math.pow(n, alpha);
    }
}
