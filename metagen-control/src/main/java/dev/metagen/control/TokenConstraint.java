package dev.metagen.control;

/**
 * A token-level constraint (constrained decoding as in Welleck et al. 2024, section 3): from each state it gives
 * the set of next tokens of the real vocabulary that can still lead to a valid output, and advances on the chosen one.
 */
public interface TokenConstraint {

    /**
     * The state before any generated token.
     *
     * @return the start state
     */
    ConstraintState start();

    /**
     * A short description for traces and errors (e.g. {@code regex [0-9]+}).
     *
     * @return the description
     */
    String describe();
}
