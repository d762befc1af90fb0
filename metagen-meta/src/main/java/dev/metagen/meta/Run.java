package dev.metagen.meta;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
    // threads running a leaf generation now, interrupted on cancellation or at the deadline
    private final Set<Thread> leaves = ConcurrentHashMap.newKeySet();
    private volatile boolean interrupting;
    private final Runnable onCancel = this::interruptLeaves;
    private final java.util.concurrent.ScheduledFuture<?> deadline;

    /** Fires the time budget's deadline: one daemon thread for all runs. */
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "metagen-deadlines");
        t.setDaemon(true);
        return t;
    });

    public Run(Budget budget, Cancellation cancellation) {
        this.budget = budget;
        this.cancellation = cancellation;
        this.deadlineNanos = budget.time() == null ? Long.MAX_VALUE : System.nanoTime() + budget.time().toNanos();
        cancellation.onCancel(onCancel);
        this.deadline = budget.time() == null ? null
                : DEADLINES.schedule(this::interruptLeaves, budget.time().toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Runs a leaf generation on the current thread so that cancellation and the deadline can interrupt it.
     * Returns true when the leaf was interrupted by this run (the thread's interrupt flag is then cleared,
     * so it does not leak to the caller).
     */
    boolean runLeaf(Runnable leaf) {
        Thread me = Thread.currentThread();
        leaves.add(me);
        try {
            if (interrupting) {
                me.interrupt();
            }
            leaf.run();
        } finally {
            synchronized (leaves) {
                leaves.remove(me);
            }
        }
        return interrupting && Thread.interrupted();
    }

    private void interruptLeaves() {
        interrupting = true;
        synchronized (leaves) {
            leaves.forEach(Thread::interrupt);
        }
    }

    /** Detaches this run from its cancellation and its deadline once the top-level call returns. */
    void finished() {
        cancellation.removeListener(onCancel);
        if (deadline != null) {
            deadline.cancel(false);
        }
    }

    /** The reason a leaf was interrupted: cancellation, or the time budget. */
    Stopped interrupted() {
        return cancellation.isCancelled() ? stop("cancelled", true) : stop("time", false);
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
