package dev.metagen.control;

/** An immutable position inside a {@link TokenConstraint}; advancing returns a new state, so states fork freely. */
public interface ConstraintState {

    /** Bitset over token ids (bit {@code id % 64} of word {@code id / 64}) of the allowed next tokens; do not modify. */
    long[] allowed();

    default boolean isAllowed(int token) {
        long[] m = allowed();
        return token >= 0 && (token >>> 6) < m.length && (m[token >>> 6] >>> (token & 63) & 1L) != 0;
    }

    /** The state after {@code token}; throws when the token is not allowed. */
    ConstraintState advance(int token);

    /** Whether the output so far is complete (end-of-generation is allowed). */
    boolean isComplete();

    /**
     * The allowed tokens that bring the output strictly closer to completion (fewer bytes left on the shortest
     * way to a complete output), or end-of-generation when complete: following these always terminates.
     */
    default long[] closing() {
        return allowed();
    }

    /** Fewest bytes that complete the output from here (0 when complete). */
    default int distance() {
        return isComplete() ? 0 : 1;
    }

    /** Whether nothing but end-of-generation may follow. */
    boolean mustEnd();
}
