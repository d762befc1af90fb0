package dev.metagen.eval.sweep;

import java.util.Map;

/** Follows a sweep (the CLI draws a progress bar from it). */
public interface SweepListener {
    /** @param units problem x strategy x budget runs in the sweep; {@code alreadyDone} of them were finished before */
    default void started(int problems, long units, long alreadyDone) {
    }

    /**
     * One run finished ({@code problemsDone}: problems whose runs are all finished); {@code spentGeneratedTokens} is
     * the sweep's running total of tokens really generated. Calls are serialised.
     */
    default void finished(Map<String, Object> row, int problemsDone, long spentGeneratedTokens) {
    }

    SweepListener NONE = new SweepListener() {
    };
}
