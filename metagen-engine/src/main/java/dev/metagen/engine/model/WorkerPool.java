package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A persistent pool of {@code threads - 1} workers plus the calling thread that split index ranges between them
 * (a parallel for-loop). Threads are started once, not per token.
 */
final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private final int threads;
    private final ExecutorService workers;

    WorkerPool(int threads) {
        this.threads = Math.max(1, threads);
        AtomicInteger n = new AtomicInteger();
        this.workers = this.threads == 1 ? null : Executors.newFixedThreadPool(this.threads - 1, r -> {
            Thread t = new Thread(r, "metagen-matmul-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in chunks of at least {@code grain} indices; returns when all are done.
     * Chunks are handed out dynamically so that a slow thread (the machine is shared) does not stall the rest.
     */
    void forRange(int n, int grain, RangeBody body) {
        int chunks = Math.min(threads * 4, Math.max(1, n / Math.max(1, grain)));
        if (threads == 1 || chunks <= 1) {
            body.run(0, n);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable task = () -> {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                body.run((int) ((long) c * n / chunks), (int) ((long) (c + 1) * n / chunks));
            }
        };
        int helpers = Math.min(threads - 1, chunks - 1);
        Future<?>[] futures = new Future<?>[helpers];
        for (int i = 0; i < helpers; i++) {
            futures[i] = workers.submit(task);
        }
        task.run();
        boolean interrupted = false;
        for (Future<?> f : futures) {
            try {
                // a forward pass is short: an interrupt (a generation being cancelled) lets it finish and is
                // kept on the thread for the generator to act on between tokens
                while (true) {
                    try {
                        f.get();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new MetagenException("worker failed: " + e.getCause(), e.getCause());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
