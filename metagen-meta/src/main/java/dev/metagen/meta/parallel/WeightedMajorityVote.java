package dev.metagen.meta.parallel;

import dev.metagen.core.Generator;
import dev.metagen.core.Scorer;
import dev.metagen.meta.score.AnswerExtractor;

/**
 * Weighted majority voting (Li et al., 2023, "Making language models better reasoners with step-aware verifier";
 * Welleck et al., 2024, section 4.2.2): each sample's vote counts its scorer's score (or exp(score) for
 * log-probability scorers).
 */
public final class WeightedMajorityVote extends MajorityVote {
    public WeightedMajorityVote(Generator inner, int n, AnswerExtractor extractor, Scorer weights, boolean expWeights) {
        super(inner, n, extractor, java.util.Objects.requireNonNull(weights, "weights"), expWeights);
    }

    @Override
    public String name() {
        return "weighted_vote";
    }
}
