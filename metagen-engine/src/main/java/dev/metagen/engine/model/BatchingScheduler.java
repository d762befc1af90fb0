package dev.metagen.engine.model;

import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Continuous batching for a model's forward passes (Yu et al., "Orca", OSDI 2022): forward calls that arrive from
 * many threads while a pass runs are queued, and the next pass takes all of them, so concurrent sequences (the
 * samples of best-of-N or self-consistency on virtual threads, the requests of a server) share one read of the
 * weights per step. Each caller blocks in {@link #submit} and gets back exactly its own logits.
 *
 * <p>How a pass is formed: the first waiting caller becomes the leader, and if the last two passes served more
 * distinct callers than are queued now it lingers up to {@code linger} for them to come back (they are usually
 * sampling their next token), then takes every queued request whose states do not overlap a request already taken
 * (a state appearing in two requests waits for the next pass, keeping each caller's order). If a merged pass fails (one
 * request's bad input, or KV memory running out), each request is retried alone so only the faulty one fails.
 * {@link TransformerModel#forward} and {@link TransformerModel#forwardAll} go through this scheduler; a server
 * gets continuous batching by calling them from one thread per request.
 */
public final class BatchingScheduler {
    /**
     * One caller's forward: {@code states.get(i)} consumes {@code tokens.get(i)}.
     *
     * @param allPositions logits at every new position (one state only), as {@code forwardAll}
     */
    public record Request(List<ModelState> states, List<int[]> tokens, boolean allPositions) {
    }

    /**
     * Counters since the model was loaded.
     *
     * @param calls        requests submitted
     * @param passes       passes run (a merged pass, or a lone retry after a failed one, counts once)
     * @param largestBatch most requests served by one pass
     */
    public record Stats(long calls, long passes, long largestBatch) {
    }

    private static final class Ticket {
        final Request request;
        final Thread caller = Thread.currentThread();
        List<Logits> result;
        RuntimeException error;
        boolean done;

        Ticket(Request request) {
            this.request = request;
        }
    }

    private final Function<List<Request>, List<List<Logits>>> pass;
    private final long lingerNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Ticket> queue = new ArrayDeque<>();
    private boolean running;
    /**
     * Callers a leader waits for (up to the linger): the distinct threads served by the last two passes. Taking the
     * last pass's count alone was bistable: a pass that ran before the others came back made the next leaders wait
     * for fewer callers, and concurrent callers could stay split in alternating passes (or unmerged) from then on.
     */
    private int expected = 1;
    private Set<Thread> lastCallers = Set.of();
    private long calls;
    private long passes;
    private long largestBatch;

    /**
     * @param pass   runs a batch of requests as one forward and returns each request's logits, in order
     * @param linger longest a leader waits for callers of the previous pass to come back
     */
    public BatchingScheduler(Function<List<Request>, List<List<Logits>>> pass, java.time.Duration linger) {
        this.pass = pass;
        this.lingerNanos = linger.toNanos();
    }

    /** Runs {@code request} in the next pass (possibly with other callers' requests) and returns its logits. */
    public List<Logits> submit(Request request) {
        Ticket t = new Ticket(request);
        lock.lock();
        try {
            queue.add(t);
            calls++;
            changed.signalAll();
            while (!t.done) {
                if (running) {
                    changed.awaitUninterruptibly();
                    continue;
                }
                running = true;
                List<Ticket> batch;
                try {
                    linger();
                    batch = drain();
                    Set<Thread> callers = Collections.newSetFromMap(new IdentityHashMap<>());
                    for (Ticket b : batch) {
                        callers.add(b.caller);
                    }
                    Set<Thread> recent = Collections.newSetFromMap(new IdentityHashMap<>());
                    recent.addAll(callers);
                    recent.addAll(lastCallers);
                    expected = recent.size();
                    lastCallers = callers;
                    largestBatch = Math.max(largestBatch, batch.size());
                } catch (RuntimeException e) {
                    running = false;
                    throw e;
                }
                lock.unlock();
                try {
                    execute(batch);
                } finally {
                    lock.lock();
                    running = false;
                    changed.signalAll();
                }
            }
        } finally {
            lock.unlock();
        }
        if (t.error != null) {
            throw t.error;
        }
        return t.result;
    }

    public Stats stats() {
        lock.lock();
        try {
            return new Stats(calls, passes, largestBatch);
        } finally {
            lock.unlock();
        }
    }

    private void linger() {
        long left = lingerNanos;
        boolean interrupted = false;
        while (queue.size() < expected && left > 0) {
            try {
                left = changed.awaitNanos(left);
            } catch (InterruptedException e) {
                interrupted = true;
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Queued tickets, in order, skipping those that share a state with one already taken. */
    private List<Ticket> drain() {
        List<Ticket> batch = new ArrayList<>();
        Set<ModelState> taken = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Iterator<Ticket> it = queue.iterator(); it.hasNext(); ) {
            Ticket t = it.next();
            List<ModelState> states = t.request.states() == null ? List.of() : t.request.states();
            boolean clash = false;
            for (ModelState s : states) {
                if (taken.contains(s)) {
                    clash = true;
                    break;
                }
            }
            if (clash) {
                continue;
            }
            taken.addAll(states);
            batch.add(t);
            it.remove();
        }
        return batch;
    }

    private void execute(List<Ticket> batch) {
        List<Request> requests = new ArrayList<>(batch.size());
        for (Ticket t : batch) {
            requests.add(t.request);
        }
        int runs = 1;
        try {
            List<List<Logits>> out = pass.apply(requests);
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).result = out.get(i);
            }
        } catch (RuntimeException e) {
            if (batch.size() == 1) {
                batch.getFirst().error = e;
            } else {
                // isolate the faulty request: every other caller still gets its logits
                for (Ticket t : batch) {
                    runs++;
                    try {
                        t.result = pass.apply(List.of(t.request)).getFirst();
                    } catch (RuntimeException alone) {
                        t.error = alone;
                    }
                }
            }
        } catch (Error e) {
            for (Ticket t : batch) {
                t.error = new MetagenException("forward pass failed: " + e, e);
            }
        }
        lock.lock();
        try {
            passes += runs;
            for (Ticket t : batch) {
                t.done = true;
            }
        } finally {
            lock.unlock();
        }
    }
}
