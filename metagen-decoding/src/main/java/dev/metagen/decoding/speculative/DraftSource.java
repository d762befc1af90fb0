package dev.metagen.decoding.speculative;

/**
 * Where speculative decoding's draft tokens come from (Leviathan et al. 2023, "Fast Inference from Transformers
 * via Speculative Decoding"): a cheaper model, or a lookup in the text so far.
 */
public interface DraftSource extends AutoCloseable {

    /**
     * Proposes up to {@code k} tokens that continue {@code context} (prompt, then the tokens generated so far).
     *
     * @param target the target's adapted distribution, or null when the target decodes greedily; a sampling
     *               draft model draws from the same adapters applied to its own logits
     * @param context the prompt and the tokens generated so far
     * @param k the most tokens to propose
     * @return the draft
     */
    Draft propose(int[] context, int k, TargetDistribution target);

    /**
     * A short name for the generation trace.
     *
     * @return the name
     */
    String describe();

    /**
     * What the source has cost so far: a draft model's forwards and the prompt tokens it prefilled.
     *
     * @return the cost
     */
    default dev.metagen.core.Cost cost() {
        return dev.metagen.core.Cost.ZERO;
    }

    /**
     * The most model calls one {@link #propose} of up to {@code k} tokens makes.
     *
     * @param k the most tokens proposed
     * @return the bound
     */
    default long maxCallsPerProposal(int k) {
        return 0;
    }

    /** Releases the source's model state, if any. */
    @Override
    default void close() {
    }

    /**
     * Drafted tokens with the draft distribution each was drawn from.
     *
     * @param tokens the proposal, possibly empty
     * @param q      {@code q[i]} is the full-vocabulary distribution {@code tokens[i]} was drawn from, or null when
     *               the draft is deterministic (q is then one-hot on the token)
     */
    record Draft(int[] tokens, double[][] q) {
        public static final Draft EMPTY = new Draft(new int[0], null);

        /** {@return the number of drafted tokens} */
        public int size() {
            return tokens.length;
        }

        /**
         * The draft probability of its own token at position {@code i}.
         *
         * @param i a position of the draft
         * @return the probability
         */
        public double q(int i) {
            return q == null ? 1.0 : q[i][tokens[i]];
        }

        /**
         * The draft's full distribution at position {@code i}, or null when it is one-hot.
         *
         * @param i a position of the draft
         * @return the distribution, or null
         */
        public double[] distribution(int i) {
            return q == null ? null : q[i];
        }
    }
}
