package dev.metagen.meta;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;

/** A scorer that calls generators or tools itself (an LM judge): its calls are charged to the caller's scope. */
public interface ScopedScorer extends Scorer {
    /**
     * Scores {@code candidate}, charging any model calls to {@code scope}.
     *
     * @param prompt the prompt
     * @param candidate the candidate
     * @param scope the caller's scope
     * @return the score
     */
    double score(Prompt prompt, Generation candidate, Scope scope);

    /** Standalone use: an unlimited budget of its own. */
    @Override
    default double score(Prompt prompt, Generation candidate) {
        return score(prompt, candidate, new Scope(new Run(Budget.UNLIMITED, new Cancellation())));
    }
}
