package dev.metagen.decoding.beam;

import java.util.List;

/**
 * A beam-family search (beam, diverse beam, stochastic beam): hypotheses after a prompt, and what it cost. A search
 * object keeps no state between calls, so one instance serves concurrent callers (e.g. the samples of a parallel
 * strategy) and each call's cost is its own.
 */
public interface Search {
    /**
     * What one search returned.
     *
     * @param hypotheses the returned hypotheses, best first
     * @param modelCalls batched model forwards this search made (the prompt's prefill is the first)
     * @param cancelled  whether the calling thread was interrupted and the search ended early with what it had
     */
    record Result(List<Hypothesis> hypotheses, long modelCalls, boolean cancelled) {
        /** Copies the hypotheses. */
        public Result {
            hypotheses = List.copyOf(hypotheses);
        }
    }

    /**
     * Searches after {@code promptIds}. An interrupt of the calling thread ends the search before its next
     * forward: the running beams become hypotheses and the result says {@code cancelled}; the interrupt flag stays
     * set for the caller.
     *
     * @param promptIds the prompt's token ids
     * @param maxTokens the most tokens per hypothesis
     * @return the hypotheses and the cost
     */
    Result run(int[] promptIds, int maxTokens);

    /**
     * The returned hypotheses after {@code promptIds}, best first.
     *
     * @param promptIds the prompt's token ids
     * @param maxTokens the most tokens per hypothesis
     * @return the hypotheses
     */
    default List<Hypothesis> search(int[] promptIds, int maxTokens) {
        return run(promptIds, maxTokens).hypotheses();
    }

    /**
     * How many hypotheses a search returns at most (each is charged its tokens).
     *
     * @return the count
     */
    int maxReturned();

    /**
     * The most batched forwards a search of {@code maxTokens} can make: the prompt, then one per step but the last.
     *
     * @param maxTokens the most tokens per hypothesis
     * @return the bound
     */
    static long maxModelCalls(int maxTokens) {
        return Math.max(0, maxTokens);
    }
}
