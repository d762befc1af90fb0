package dev.metagen.core;

import java.time.Duration;

/** What a generation cost: tokens read and written, model calls, external tool calls and wall time. */
public record Cost(long promptTokens, long generatedTokens, long modelCalls, long toolCalls, Duration wall) {
    public static final Cost ZERO = new Cost(0, 0, 0, 0, Duration.ZERO);

    public Cost plus(Cost o) {
        return new Cost(promptTokens + o.promptTokens, generatedTokens + o.generatedTokens,
                modelCalls + o.modelCalls, toolCalls + o.toolCalls, wall.plus(o.wall));
    }

    public long totalTokens() {
        return promptTokens + generatedTokens;
    }
}
