package dev.metagen.meta;

/** A flag shared by a whole tree of meta-generation calls: once cancelled, no new inner call starts. */
public final class Cancellation {
    private volatile boolean cancelled;

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }
}
