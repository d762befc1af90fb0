package dev.metagen.meta;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared state of one top-level strategy call: its budget, what was spent so far, and its cancellation.
 *
 * <p>Budgets of generated tokens and model calls are kept by <em>reservation</em>: before a leaf call starts,
 * {@link #reserve} takes its worst case ({@link dev.metagen.core.Generator#maxModelCalls} and
 * {@link dev.metagen.core.Generator#maxGeneratedTokens}) from what is left, capping the call's {@code maxTokens}
 * so that the worst case fits; when the call returns, {@link #settle} gives back what it did not use. Concurrent
 * siblings therefore can never spend more than the budget between them, whatever the thread order. The
 * alternative, checking the budget at every forward, would need every decoder (and every remote server) to consult
 * the run inside its loop, and still could not stop a batched forward or an HTTP request already sent; a
 * reservation needs only an honest upper bound from each generator. Its price is that a running call holds its
 * whole worst case, so a sibling may be refused (or get a shorter {@code maxTokens}) although the running call
 * later gives part of it back.
 */
public final class Run {
    private final Budget budget;
    private final Cancellation cancellation;
    private final long deadlineNanos;
    // guarded by this: spent plus reserved by leaf calls still running
    private long tokensCommitted;
    private long callsCommitted;
    // what was really spent (reported)
    private final AtomicLong tokensSpent = new AtomicLong();
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

    /**
     * A run under {@code budget}, stopped by {@code cancellation}.
     *
     * @param budget the limit of the whole call tree
     * @param cancellation stops the whole call tree
     */
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

    /** {@return the run's budget} */
    public Budget budget() {
        return budget;
    }

    /** {@return the run's cancellation flag} */
    public Cancellation cancellation() {
        return cancellation;
    }

    /**
     * Why this run stopped early, or null.
     *
     * @return {@code tokens}, {@code calls}, {@code time}, {@code cancelled}, or null
     */
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
        if (interrupting || System.nanoTime() - deadlineNanos >= 0) {
            throw interrupted();
        }
        synchronized (this) {
            if (callsCommitted >= budget.modelCalls()) {
                throw stop("calls", false);
            }
            if (tokensCommitted >= budget.generatedTokens()) {
                throw stop("tokens", false);
            }
        }
    }

    /** What a leaf call may use: its (possibly capped) {@code maxTokens} and the tokens and calls held for it. */
    record Reservation(int maxTokens, long tokens, long calls, String cappedBy) {
    }

    /**
     * Reserves the worst case of a leaf call that wants {@code wanted} tokens: {@code tokensFor(m)} generated
     * tokens and {@code callsFor(m)} model calls for {@code maxTokens = m}, both non-decreasing in {@code m}. When
     * they do not fit what is left, {@code m} is cut to the largest value that fits; {@code cappedBy} then names the
     * binding limit. Throws {@link Stopped} when not even {@code m = 1} (or the {@code m = 0} a caller asked for) fits.
     */
    synchronized Reservation reserve(int wanted, java.util.function.IntToLongFunction tokensFor,
                                     java.util.function.IntToLongFunction callsFor) {
        long tokensLeft = budget.generatedTokens() - tokensCommitted;
        long callsLeft = budget.modelCalls() - callsCommitted;
        if (callsLeft <= 0) {
            throw stop("calls", false);
        }
        if (tokensLeft <= 0) {
            throw stop("tokens", false);
        }
        int m = wanted;
        String capped = null;
        if (tokensFor.applyAsLong(m) > tokensLeft || callsFor.applyAsLong(m) > callsLeft) {
            // the largest m in [0, wanted) that fits, by bisection (both bounds grow with m)
            int lo = -1;
            int hi = wanted;
            while (hi - lo > 1) {
                int mid = (int) (((long) lo + hi) >>> 1);
                if (tokensFor.applyAsLong(mid) <= tokensLeft && callsFor.applyAsLong(mid) <= callsLeft) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            capped = tokensFor.applyAsLong(wanted) > tokensLeft ? "tokens" : "calls";
            if (lo < 1) {
                throw stop(capped, false);
            }
            m = lo;
        }
        long t = tokensFor.applyAsLong(m);
        long c = callsFor.applyAsLong(m);
        tokensCommitted += t;
        callsCommitted += c;
        return new Reservation(m, t, c, capped);
    }

    /** Settles a reservation with what the call really spent (more than reserved only if a generator under-declared). */
    void settle(Reservation r, long tokens, long calls) {
        synchronized (this) {
            tokensCommitted += tokens - r.tokens();
            callsCommitted += calls - r.calls();
        }
        tokensSpent.addAndGet(tokens);
        modelCalls.addAndGet(calls);
    }

    /** Records that a budget cut a call short: the run then finishes with {@code budget}, not {@code length}. */
    void budgetBound(String reason) {
        stop(reason, false);
    }

    void abort() {
        aborted = true;
    }

    /** Charges calls made outside a reservation (tools, scorers that ran on their own). */
    void charge(long calls, long tools) {
        synchronized (this) {
            callsCommitted += calls;
        }
        modelCalls.addAndGet(calls);
        toolCalls.addAndGet(tools);
    }

    void addToolCalls(long n) {
        toolCalls.addAndGet(n);
    }

    /** {@return the tokens generated so far by all leaf calls} */
    public long generatedTokens() {
        return tokensSpent.get();
    }

    /** {@return the model calls made so far by all leaf calls} */
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
