package dev.metagen.meta.parallel;

import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Scorer;
import dev.metagen.meta.score.AnswerExtractor;
import dev.metagen.meta.score.LogprobScorer;

import java.util.Objects;

/**
 * Weighted majority voting (Welleck et al., 2024, section 4.2.2): each sample's vote counts a weight from its
 * scorer's score. With a verifier or reward model the weight is the score itself, clipped at 0 (verifier-weighted
 * voting: Li et al., 2023, "Making language models better reasoners with step-aware verifier"; Uesato et al., 2022,
 * "Solving math word problems with process- and outcome-based feedback"). With a log-probability scorer the weight
 * is the sample's probability, {@code exp(score)} (Wang et al., 2023, "Self-consistency improves chain of thought
 * reasoning", section 2: the "weighted sum" over unnormalised or length-normalised probabilities): a log-probability
 * is never positive, so clipping it would weight every vote 0. Exp weights are therefore the default for log-prob
 * scorers and can be asked for with any scorer; they are computed as {@code exp(score - max score)}, the same
 * ratios (so the same winner) without underflow for long samples.
 */
public final class WeightedMajorityVote extends MajorityVote {
    /**
     * Exp weights for {@link LogprobScorer}s, the clipped score for every other scorer.
     *
     * @param inner the sampled generator
     * @param n the number of samples
     * @param extractor extracts the answers that vote
     * @param weights weighs each vote
     */
    public WeightedMajorityVote(Generator inner, int n, AnswerExtractor extractor, Scorer weights) {
        this(inner, n, extractor, weights, Objects.requireNonNull(weights, "weights") instanceof LogprobScorer);
    }

    /**
     * Weighted majority voting.
     *
     * @throws MetagenException when {@code expWeights} is false for a log-probability scorer: every vote would
     *                          weigh 0 and the winner would be a tie-break
     * @param inner the sampled generator
     * @param n the number of samples
     * @param extractor extracts the answers that vote
     * @param weights weighs each vote
     * @param expWeights whether a vote weighs exp(score) instead of the (clipped) score
     */
    public WeightedMajorityVote(Generator inner, int n, AnswerExtractor extractor, Scorer weights, boolean expWeights) {
        super(inner, n, extractor, Objects.requireNonNull(weights, "weights"), expWeights);
        if (!expWeights && weights instanceof LogprobScorer) {
            throw new MetagenException("weighted_vote: exp_weights false with a log-probability scorer weighs every vote 0"
                    + " (log-probabilities are <= 0); leave exp_weights out or set it true");
        }
    }

    @Override
    public String name() {
        return "weighted_vote";
    }
}
