package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;

/** Accepts or rejects a candidate with a feedback message (a binary outcome reward, Welleck et al., 2024, section 4.1). */
@FunctionalInterface
public interface Verifier extends Scorer {

    /**
     * The outcome of a verification; {@code feedback} says why a candidate was rejected (fed back by Refine).
     *
     * @param accepted whether the candidate passed
     * @param feedback why it was rejected ("" when accepted)
     */
    record Verdict(boolean accepted, String feedback) {
    }

    /**
     * Checks {@code candidate}.
     *
     * @param prompt the prompt
     * @param candidate the candidate
     * @return the verdict
     */
    Verdict verify(Prompt prompt, Generation candidate);

    /** 1 for accepted, 0 for rejected. */
    @Override
    default double score(Prompt prompt, Generation candidate) {
        return verify(prompt, candidate).accepted() ? 1.0 : 0.0;
    }

    /**
     * Accepts when {@code scorer} gives at least {@code threshold}.
     *
     * @param scorer the scorer
     * @param threshold the least accepted score
     * @return the verifier
     */
    static Verifier threshold(Scorer scorer, double threshold) {
        return (p, g) -> {
            double s = scorer.score(p, g);
            return new Verdict(s >= threshold, "score " + s + " is below " + threshold);
        };
    }
}
