package dev.metagen.meta;

import dev.metagen.core.MetagenException;

import java.time.Duration;

/**
 * A limit on what a whole tree of meta-generation calls may spend (Welleck et al., 2024, section 4: token budgets).
 *
 * @param generatedTokens at most this many generated tokens over all leaf calls
 * @param modelCalls      at most this many model calls (as counted in {@code Cost}) over all leaf calls; both limits
 *                        are kept by reserving each leaf call's declared worst case before it starts and cutting
 *                        its {@code maxTokens} to fit (see {@link Run}), so a reported total never exceeds them
 * @param time            no new inner call starts after this much wall time
 *
 * <p>Example:
 * <pre>{@code
 * Budget budget = Budget.tokens(40).withTime(Duration.ofSeconds(30));
 * Generation g = strategy.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(16), budget, new Cancellation());
 * // at most 40 generated tokens over every inner call; g.finish() is BUDGET when it ran out
 * }</pre>
 */
public record Budget(long generatedTokens, long modelCalls, Duration time) {
    public static final Budget UNLIMITED = new Budget(Long.MAX_VALUE, Long.MAX_VALUE, null);

    /** Checks that the limits are not negative. */
    public Budget {
        if (generatedTokens < 0 || modelCalls < 0) {
            throw new MetagenException("budget limits must be >= 0, got tokens=" + generatedTokens + " calls=" + modelCalls);
        }
        if (time != null && time.isNegative()) {
            throw new MetagenException("budget time must be >= 0, got " + time);
        }
    }

    /**
     * At most {@code n} generated tokens.
     *
     * @param n the limit
     * @return the budget
     */
    public static Budget tokens(long n) {
        return new Budget(n, Long.MAX_VALUE, null);
    }

    /**
     * At most {@code n} model calls.
     *
     * @param n the limit
     * @return the budget
     */
    public static Budget calls(long n) {
        return new Budget(Long.MAX_VALUE, n, null);
    }

    /**
     * The same budget with a time limit.
     *
     * @param t the wall-time limit, or null for none
     * @return the new budget
     */
    public Budget withTime(Duration t) {
        return new Budget(generatedTokens, modelCalls, t);
    }
}
