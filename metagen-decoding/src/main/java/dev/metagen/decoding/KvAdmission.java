package dev.metagen.decoding;

import dev.metagen.core.MemoryReservation;
import dev.metagen.core.ModelState;

/**
 * Memory admission for decode loops: a generation reserves its worst case (prompt plus maximum new tokens) on its
 * fresh state before the first forward, waiting its turn while it holds nothing (see
 * {@link ModelState#reserve(int, int, int)}).
 */
final class KvAdmission {
    private KvAdmission() {
    }

    /**
     * Waits until the fresh {@code state} may take its prompt and up to {@code maxTokens} new tokens; {@code null}
     * when the caller was interrupted while waiting (the interrupt flag stays set, so the loop finishes as
     * cancelled). Nothing is reserved when no token will be generated (the prompt is not run either).
     */
    static MemoryReservation reserve(ModelState state, int promptTokens, int maxTokens) {
        if (maxTokens == 0) {
            return MemoryReservation.NONE;
        }
        try {
            return state.reserve((int) Math.min(Integer.MAX_VALUE, (long) promptTokens + maxTokens));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** {@link ModelState#reserve(int, int, int)}, {@code null} when interrupted (the flag stays set). */
    static MemoryReservation reserve(ModelState state, int tokens, int forks, int forkTokens) {
        try {
            return state.reserve(tokens, forks, forkTokens);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
