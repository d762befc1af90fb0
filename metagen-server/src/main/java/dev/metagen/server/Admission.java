package dev.metagen.server;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded pool where all the work of a request runs (parsing its JSON, tokenizing, rendering the chat template,
 * compiling constraints and strategies, generating): {@code workers} platform threads and at most {@code queue}
 * requests waiting for one; a request beyond that is refused at once (503 with Retry-After), so overload sheds
 * work instead of piling up threads and memory. Platform threads, not virtual ones: CPU-bound work on a virtual
 * thread holds its carrier until it blocks, and with as many carriers as cores a few big prompts or schemas would
 * stall every other virtual thread. The threads that accept connections and answer {@code /health} are separate.
 */
final class Admission implements AutoCloseable {
    private final ThreadPoolExecutor pool;
    private final int queue;

    Admission(int workers, int queue) {
        this.queue = queue;
        AtomicInteger ids = new AtomicInteger();
        BlockingQueue<Runnable> waiting = queue == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(queue);
        this.pool = new ThreadPoolExecutor(workers, workers, 60, TimeUnit.SECONDS, waiting,
                r -> Thread.ofPlatform().daemon().name("metagen-worker-" + ids.incrementAndGet()).unstarted(r),
                new ThreadPoolExecutor.AbortPolicy());
        pool.allowCoreThreadTimeOut(true);
    }

    /** Queues {@code work} for a worker; a 503 when all workers are busy and the queue is full. */
    Future<?> submit(Runnable work) {
        try {
            return pool.submit(work);
        } catch (RejectedExecutionException e) {
            throw overloaded("the server is busy (all workers busy and all " + queue + " queue places taken); retry later");
        }
    }

    /** Requests waiting for a worker. */
    int waiting() {
        return pool.getQueue().size();
    }

    /** Requests being worked on. */
    int running() {
        return pool.getActiveCount();
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    static ApiException overloaded(String message) {
        return new ApiException(503, "server_overloaded", null, "server_busy", message);
    }
}
