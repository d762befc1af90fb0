package dev.metagen.control;

/** An immutable position inside a {@link TokenConstraint}; advancing returns a new state, so states fork freely. */
public interface ConstraintState {

    /**
     * Bitset over token ids (bit {@code id % 64} of word {@code id / 64}) of the allowed next tokens; do not modify.
     *
     * @return the bitset
     */
    long[] allowed();

    /**
     * Whether {@code token} may come next.
     *
     * @param token a token id
     * @return true when its bit is set in {@link #allowed()}
     */
    default boolean isAllowed(int token) {
        long[] m = allowed();
        return token >= 0 && (token >>> 6) < m.length && (m[token >>> 6] >>> (token & 63) & 1L) != 0;
    }

    /**
     * The state after {@code token}; throws when the token is not allowed.
     *
     * @param token an allowed token
     * @return the next state
     */
    ConstraintState advance(int token);

    /**
     * Whether the output so far is complete (end-of-generation is allowed).
     *
     * @return whether it is complete
     */
    boolean isComplete();

    /**
     * The allowed tokens that bring the output strictly closer to completion (fewer bytes left on the shortest
     * way to a complete output), or end-of-generation when complete: following these always terminates.
     *
     * @return the bitset of closing tokens
     */
    default long[] closing() {
        return allowed();
    }

    /**
     * Fewest bytes that complete the output from here (0 when complete).
     *
     * @return the distance in bytes
     */
    default int distance() {
        return isComplete() ? 0 : 1;
    }

    /**
     * Whether nothing but end-of-generation may follow.
     *
     * @return whether only end-of-generation may follow
     */
    boolean mustEnd();
}
