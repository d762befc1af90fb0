package dev.metagen.core;

import java.time.Duration;

/**
 * What a generation cost: tokens read and written, model calls, external tool calls and wall time.
 *
 * @param promptTokens prompt tokens the model read
 * @param generatedTokens tokens generated
 * @param modelCalls model calls (batched forwards of a local model, requests to a remote one)
 * @param toolCalls external tool calls (code runs, retrievals ...)
 * @param wall wall-clock time
 *
 * <p>Example:
 * <pre>{@code
 * Cost total = Cost.ZERO.plus(first.cost()).plus(second.cost());
 * long tokens = total.totalTokens();              // prompt and generated tokens of both calls
 * }</pre>
 */
public record Cost(long promptTokens, long generatedTokens, long modelCalls, long toolCalls, Duration wall) {
    public static final Cost ZERO = new Cost(0, 0, 0, 0, Duration.ZERO);

    /**
     * The sum of two costs (what a strategy reports for its sub-calls).
     *
     * @param o the other cost
     * @return the component-wise sum
     */
    public Cost plus(Cost o) {
        return new Cost(promptTokens + o.promptTokens, generatedTokens + o.generatedTokens,
                modelCalls + o.modelCalls, toolCalls + o.toolCalls, wall.plus(o.wall));
    }

    /**
     * Prompt plus generated tokens.
     *
     * @return the token total
     */
    public long totalTokens() {
        return promptTokens + generatedTokens;
    }
}
