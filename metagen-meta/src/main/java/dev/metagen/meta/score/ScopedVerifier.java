package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Run;
import dev.metagen.meta.Scope;

/** A verifier that calls tools or models itself (unit tests in a sandbox, an LM critic): its cost goes to the caller's scope. */
public interface ScopedVerifier extends Verifier {
    Verdict verify(Prompt prompt, Generation candidate, Scope scope);

    @Override
    default Verdict verify(Prompt prompt, Generation candidate) {
        return verify(prompt, candidate, new Scope(new Run(Budget.UNLIMITED, new Cancellation())));
    }

    /** Verifies through the scope when the verifier needs one. */
    static Verdict verify(Scope scope, Verifier v, Prompt prompt, Generation candidate) {
        return v instanceof ScopedVerifier s ? s.verify(prompt, candidate, scope) : v.verify(prompt, candidate);
    }
}
