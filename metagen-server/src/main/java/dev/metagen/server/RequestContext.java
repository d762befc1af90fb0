package dev.metagen.server;

/**
 * What may stop a running request: its client going away (a failed write of a stream) or its deadline. The
 * generation loops call {@link #check()} after every token; it throws {@link Stopped}, which unwinds through the
 * generator and closes the sequence's model state (freeing its KV cache) on the way out.
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
    private volatile boolean clientGone;

    RequestContext(long deadlineMs) {
        this.deadlineMs = deadlineMs;
        this.deadlineNanos = deadlineMs > 0 ? System.nanoTime() + deadlineMs * 1_000_000 : Long.MAX_VALUE;
    }

    void clientGone() {
        clientGone = true;
    }

    boolean isClientGone() {
        return clientGone;
    }

    /** Milliseconds left before the deadline (Long.MAX_VALUE without one). */
    long remainingMs() {
        return deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    void check() {
        if (clientGone) {
            throw new Stopped("the client disconnected", false);
        }
        if (System.nanoTime() > deadlineNanos) {
            throw new Stopped("the request ran past its deadline of " + deadlineMs + " ms", true);
        }
    }
}
