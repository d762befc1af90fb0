package dev.metagen.meta;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A flag shared by a whole tree of meta-generation calls: once cancelled, no new inner call starts, and leaf
 * generations already running are interrupted (they end at their next token with what they have).
 *
 * <p>Example:
 * <pre>{@code
 * Cancellation cancel = new Cancellation();
 * cancel.cancel();                                                // e.g. from another thread when the client goes away
 * Generation g = strategy.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(16), Budget.UNLIMITED, cancel);
 * // g.finish() == FinishReason.CANCELLED: no inner call started
 * }</pre>
 */
public final class Cancellation {
    private volatile boolean cancelled;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    /** A flag not yet cancelled. */
    public Cancellation() {
    }

    /** Cancels: no new inner call starts, and running leaf generations are interrupted. */
    public void cancel() {
        cancelled = true;
        listeners.forEach(Runnable::run);
    }

    /** {@return whether {@link #cancel} was called} */
    public boolean isCancelled() {
        return cancelled;
    }

    /** Runs {@code r} on cancellation (at once if already cancelled). */
    void onCancel(Runnable r) {
        listeners.add(r);
        if (cancelled) {
            r.run();
        }
    }

    void removeListener(Runnable r) {
        listeners.remove(r);
    }
}
