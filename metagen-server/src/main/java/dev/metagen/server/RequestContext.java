package dev.metagen.server;

import dev.metagen.meta.Cancellation;

/**
 * What may stop a running request: its client going away (a failed write of a stream event or a keep-alive) or its
 * deadline. The generation loops call {@link #check()} after every token; it throws {@link Stopped}, which unwinds
 * through the generator and closes the sequence's model state (freeing its KV cache) on the way out. A strategy
 * runs under {@link #cancellation()}, which a disconnect cancels: every leaf of its tree then ends at its next token.
 */
final class RequestContext {
    /** Why a request stopped early. */
    static final class Stopped extends RuntimeException {
        final boolean deadline;

        Stopped(String message, boolean deadline) {
            super(message, null, false, false);
            this.deadline = deadline;
        }
    }

    private final long deadlineNanos;
    private final long deadlineMs;
    private final Cancellation cancellation = new Cancellation();
    private volatile boolean clientGone;
    private volatile boolean failed;

    RequestContext(long deadlineMs) {
        this.deadlineMs = deadlineMs;
        this.deadlineNanos = deadlineMs > 0 ? System.nanoTime() + deadlineMs * 1_000_000 : Long.MAX_VALUE;
    }

    /** The client went away: everything the request still runs stops at its next check. */
    void clientGone() {
        clientGone = true;
        cancellation.cancel();
    }

    /** One part of the request failed: the others stop at their next check (the failure is what gets reported). */
    void fail() {
        failed = true;
        cancellation.cancel();
    }

    boolean isClientGone() {
        return clientGone;
    }

    Cancellation cancellation() {
        return cancellation;
    }

    /** The deadline as a {@link System#nanoTime} value, {@link Long#MAX_VALUE} without one. */
    long deadlineNanos() {
        return deadlineNanos;
    }

    long deadlineMs() {
        return deadlineMs;
    }

    boolean pastDeadline() {
        return deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0;
    }

    /** Milliseconds left before the deadline (Long.MAX_VALUE without one). */
    long remainingMs() {
        return deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    void check() {
        if (clientGone) {
            throw new Stopped("the client disconnected", false);
        }
        if (failed) {
            throw new Stopped("another choice of the request failed", false);
        }
        if (pastDeadline()) {
            throw deadlineExceeded();
        }
    }

    Stopped deadlineExceeded() {
        return new Stopped("the request ran past its deadline of " + deadlineMs + " ms", true);
    }
}
