package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Run;
import dev.metagen.meta.Scope;
import dev.metagen.meta.ScopedScorer;

/**
 * A verifier that calls tools or models itself (unit tests in a sandbox, an LM critic): its cost goes to the caller's
 * scope, also when it is used as a scorer (1 for accepted, 0 for rejected).
 */
public interface ScopedVerifier extends Verifier, ScopedScorer {
    /**
     * Checks {@code candidate}, charging any model calls to {@code scope}.
     *
     * @param prompt the prompt
     * @param candidate the candidate
     * @param scope the caller's scope
     * @return the verdict
     */
    Verdict verify(Prompt prompt, Generation candidate, Scope scope);

    @Override
    default double score(Prompt prompt, Generation candidate, Scope scope) {
        return verify(prompt, candidate, scope).accepted() ? 1.0 : 0.0;
    }

    /** Standalone use: an unlimited budget of its own. */
    @Override
    default double score(Prompt prompt, Generation candidate) {
        return ScopedScorer.super.score(prompt, candidate);
    }

    @Override
    default Verdict verify(Prompt prompt, Generation candidate) {
        return verify(prompt, candidate, new Scope(new Run(Budget.UNLIMITED, new Cancellation())));
    }

    /**
     * Verifies through the scope when the verifier needs one.
     *
     * @param scope the caller's scope
     * @param v the verifier
     * @param prompt the prompt
     * @param candidate the candidate
     * @return the verdict
     */
    static Verdict verify(Scope scope, Verifier v, Prompt prompt, Generation candidate) {
        return v instanceof ScopedVerifier s ? s.verify(prompt, candidate, scope) : v.verify(prompt, candidate);
    }
}
