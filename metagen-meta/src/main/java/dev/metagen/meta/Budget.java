package dev.metagen.meta;

import dev.metagen.core.MetagenException;

import java.time.Duration;

/**
 * A limit on what a whole tree of meta-generation calls may spend (Welleck et al., 2024, section 4: token budgets).
 *
 * @param generatedTokens at most this many generated tokens over all leaf calls: each leaf call's {@code maxTokens}
 *                        is capped by what is left, which is strict for samplers (a beam leaf that reports
 *                        several hypotheses is charged all their tokens and can overrun by that much); a call
 *                        holds its whole {@code maxTokens} while it runs, so concurrent siblings may be refused
 *                        tokens that an early-stopping call later gives back
 * @param modelCalls      no new inner call starts once this many model calls (as counted in {@code Cost}) were spent
 * @param time            no new inner call starts after this much wall time
 */
public record Budget(long generatedTokens, long modelCalls, Duration time) {
    public static final Budget UNLIMITED = new Budget(Long.MAX_VALUE, Long.MAX_VALUE, null);

    public Budget {
        if (generatedTokens < 0 || modelCalls < 0) {
            throw new MetagenException("budget limits must be >= 0, got tokens=" + generatedTokens + " calls=" + modelCalls);
        }
        if (time != null && time.isNegative()) {
            throw new MetagenException("budget time must be >= 0, got " + time);
        }
    }

    public static Budget tokens(long n) {
        return new Budget(n, Long.MAX_VALUE, null);
    }

    public static Budget calls(long n) {
        return new Budget(Long.MAX_VALUE, n, null);
    }

    public Budget withTime(Duration t) {
        return new Budget(generatedTokens, modelCalls, t);
    }
}
