package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A persistent pool of {@code threads - 1} workers plus the calling thread that split index ranges between them
 * (a parallel for-loop). Threads are started once, not per token; a loop is handed to parked workers with
 * {@code LockSupport.unpark} and its chunks are claimed from a counter, so the caller starts on the first chunk at
 * once. Idle workers can also spin for a while before parking ({@link #DEFAULT_SPIN_NANOS}, off by default): that
 * saves the wake-up (measured 27 us per loop with an executor's submit and get, 1.2 us spinning) but holds a core,
 * and on a 2-core machine it starved the virtual threads whose forward calls continuous batching merges (MCTS
 * expansions shared no pass at all), so it is for machines with cores to spare.
 */
final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    /**
     * How long a worker (or the waiting caller) spins, yielding, before parking: system property
     * {@code metagen.spinNanos}, default 0 (park at once). About 30000 spans the gaps between the loops of one
     * forward pass (norms, RoPE: microseconds).
     */
    static final long DEFAULT_SPIN_NANOS = Long.getLong("metagen.spinNanos", 0);

    private final int threads;
    private final long spinNanos;
    private final Thread[] workers;
    /** Whether worker i is parked (or about to park) and needs an unpark to see the next loop. */
    private final AtomicInteger[] idle;
    /** One loop at a time: the model's forward passes are serialised, this only guards against misuse. */
    private final ReentrantLock loop = new ReentrantLock();
    private volatile Loop current;
    private volatile boolean closed;

    /** One parallel loop: chunks are claimed with {@code next} and counted down in {@code remaining}. */
    private static final class Loop {
        final RangeBody body;
        final int n;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger remaining;
        volatile Throwable failure;
        volatile Thread waiter;

        Loop(RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.remaining = new AtomicInteger(chunks);
        }

        /** Claims and runs chunks until none are left. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    if (failure == null) {
                        body.run((int) ((long) c * n / chunks), (int) ((long) (c + 1) * n / chunks));
                    }
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                } finally {
                    if (remaining.decrementAndGet() == 0) {
                        Thread w = waiter;
                        if (w != null) {
                            LockSupport.unpark(w);
                        }
                    }
                }
            }
        }
    }

    WorkerPool(int threads) {
        this(threads, DEFAULT_SPIN_NANOS);
    }

    WorkerPool(int threads, long spinNanos) {
        this.threads = Math.max(1, threads);
        this.spinNanos = Math.max(0, spinNanos);
        this.workers = new Thread[this.threads - 1];
        this.idle = new AtomicInteger[this.threads - 1];
        for (int i = 0; i < workers.length; i++) {
            idle[i] = new AtomicInteger();
            int id = i;
            workers[i] = Thread.ofPlatform().daemon().name("metagen-matmul-" + (i + 1)).unstarted(() -> run(id));
            workers[i].start();
        }
    }

    int threads() {
        return threads;
    }

    /** Whether any worker thread is still alive (they end after {@link #close}). */
    boolean workersAlive() {
        for (Thread w : workers) {
            if (w.isAlive()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in chunks of at least {@code grain} indices; returns when all are done.
     * Chunks are handed out dynamically so that a slow thread (the machine is shared) does not stall the rest.
     * An exception thrown by the body is rethrown here once every chunk has finished.
     */
    void forRange(int n, int grain, RangeBody body) {
        int chunks = Math.min(threads * 4, Math.max(1, n / Math.max(1, grain)));
        if (threads == 1 || chunks <= 1) {
            body.run(0, n);
            return;
        }
        if (closed) {
            throw new MetagenException("the model's worker threads are closed");
        }
        loop.lock();
        try {
            Loop l = new Loop(body, n, chunks);
            current = l;
            for (int i = 0; i < workers.length; i++) {
                if (idle[i].get() != 0) {
                    LockSupport.unpark(workers[i]);
                }
            }
            l.work();
            await(l, spinNanos);
            Throwable t = l.failure;
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new MetagenException("worker failed: " + t, t);
            }
        } finally {
            loop.unlock();
        }
    }

    /**
     * Waits for the chunks other threads are still running. A forward pass is short: an interrupt (a generation
     * being cancelled) lets it finish and is kept on the thread for the generator to act on between tokens.
     */
    private static void await(Loop l, long spinNanos) {
        if (l.remaining.get() == 0) {
            return;
        }
        long spinUntil = System.nanoTime() + spinNanos;
        while (l.remaining.get() != 0 && System.nanoTime() < spinUntil) {
            Thread.yield(); // not onSpinWait: a runnable thread gets the core
        }
        if (l.remaining.get() == 0) {
            return;
        }
        boolean interrupted = false;
        l.waiter = Thread.currentThread();
        while (l.remaining.get() != 0) {
            LockSupport.park(l);
            if (Thread.interrupted()) {
                interrupted = true; // park returns at once while the flag is set: clear it, restore it below
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run(int id) {
        Loop seen = null;
        while (!closed) {
            Loop l = current;
            if (l != seen) {
                seen = l;
                l.work();
                continue;
            }
            long spinUntil = System.nanoTime() + spinNanos;
            while (current == seen && !closed && System.nanoTime() < spinUntil) {
                Thread.yield(); // not onSpinWait: a runnable thread gets the core
            }
            if (current == seen && !closed) {
                idle[id].set(1);
                // re-read after announcing: either the publisher sees idle and unparks, or this sees its loop
                if (current == seen && !closed) {
                    LockSupport.park(this);
                }
                idle[id].set(0);
                Thread.interrupted(); // nobody interrupts these threads on purpose; never spin on a stray flag
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
