package dev.metagen.meta;

/**
 * Thrown by {@link Scope} when the budget is spent or the run was cancelled; strategies catch it and finish
 * with what they have, so it never escapes {@link MetaGenerator#generate}.
 */
public final class Stopped extends RuntimeException {
    /** Why the run stopped. */
    private final String reason;
    /** Whether it was cancelled (rather than out of budget). */
    private final boolean cancelled;

    Stopped(String reason, boolean cancelled) {
        super(reason, null, false, false);
        this.reason = reason;
        this.cancelled = cancelled;
    }

    /**
     * "tokens", "calls", "time" or "cancelled".
     *
     * @return the reason
     */
    public String reason() {
        return reason;
    }

    /** {@return whether the run was cancelled (rather than out of budget)} */
    public boolean cancelled() {
        return cancelled;
    }
}
