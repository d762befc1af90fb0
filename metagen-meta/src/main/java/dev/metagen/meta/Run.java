package dev.metagen.meta;

import java.util.concurrent.atomic.AtomicLong;

/** The shared state of one top-level strategy call: its budget, what was spent so far, and its cancellation. */
public final class Run {
    private final Budget budget;
    private final Cancellation cancellation;
    private final long deadlineNanos;
    // tokens already generated plus tokens reserved by leaf calls still running
    private final AtomicLong tokensCommitted = new AtomicLong();
    private final AtomicLong modelCalls = new AtomicLong();
    private final AtomicLong toolCalls = new AtomicLong();
    private volatile String stopReason;
    // set when an inner call failed: siblings start no new calls while the failure propagates
    private volatile boolean aborted;

    public Run(Budget budget, Cancellation cancellation) {
        this.budget = budget;
        this.cancellation = cancellation;
        this.deadlineNanos = budget.time() == null ? Long.MAX_VALUE : System.nanoTime() + budget.time().toNanos();
    }

    public Budget budget() {
        return budget;
    }

    public Cancellation cancellation() {
        return cancellation;
    }

    /** Why this run stopped early, or null. */
    public String stopReason() {
        return stopReason;
    }

    /** Throws {@link Stopped} when no new call may start. */
    void check() {
        if (aborted) {
            throw new Stopped("aborted", true);
        }
        if (cancellation.isCancelled()) {
            throw stop("cancelled", true);
        }
        if (modelCalls.get() >= budget.modelCalls()) {
            throw stop("calls", false);
        }
        if (System.nanoTime() - deadlineNanos >= 0) {
            throw stop("time", false);
        }
    }

    /** Reserves up to {@code wanted} generated tokens; throws {@link Stopped} when none are left. */
    long reserveTokens(long wanted) {
        while (true) {
            long used = tokensCommitted.get();
            long left = budget.generatedTokens() - used;
            if (left <= 0) {
                throw stop("tokens", false);
            }
            long take = Math.min(wanted, left);
            if (tokensCommitted.compareAndSet(used, used + take)) {
                return take;
            }
        }
    }

    /** Settles a reservation: the call generated {@code actual <= reserved} tokens. */
    void settleTokens(long reserved, long actual) {
        tokensCommitted.addAndGet(actual - reserved);
    }

    void abort() {
        aborted = true;
    }

    void addModelCalls(long n) {
        modelCalls.addAndGet(n);
    }

    void addToolCalls(long n) {
        toolCalls.addAndGet(n);
    }

    public long generatedTokens() {
        return tokensCommitted.get();
    }

    public long modelCalls() {
        return modelCalls.get();
    }

    private Stopped stop(String reason, boolean cancelled) {
        if (stopReason == null) {
            stopReason = reason;
        }
        return new Stopped(reason, cancelled);
    }
}
