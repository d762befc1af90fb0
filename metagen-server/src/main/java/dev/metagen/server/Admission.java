package dev.metagen.server;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * At most {@code slots} requests generate at once and at most {@code queue} wait for a slot; a request beyond that
 * is refused at once (503 with Retry-After), so overload sheds work instead of piling up threads and memory.
 */
final class Admission {
    private final Semaphore slots;
    private final int queue;
    private final AtomicInteger waiting = new AtomicInteger();

    Admission(int slots, int queue) {
        this.slots = new Semaphore(slots, true);
        this.queue = queue;
    }

    /** Takes a slot, waiting at most {@code timeoutMs} (0 = no limit); throws 503 when the queue is full or the wait ran out. */
    void enter(long timeoutMs) {
        if (slots.tryAcquire()) {
            return;
        }
        if (waiting.incrementAndGet() > queue) {
            waiting.decrementAndGet();
            throw overloaded("the server is busy (all " + queue + " queue places taken); retry later");
        }
        try {
            boolean ok = timeoutMs > 0 ? slots.tryAcquire(timeoutMs, TimeUnit.MILLISECONDS) : acquire();
            if (!ok) {
                throw overloaded("the server is busy: no generation slot freed within the request deadline");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw overloaded("interrupted while waiting for a generation slot");
        } finally {
            waiting.decrementAndGet();
        }
    }

    private boolean acquire() throws InterruptedException {
        slots.acquire();
        return true;
    }

    void leave() {
        slots.release();
    }

    int waiting() {
        return waiting.get();
    }

    private static ApiException overloaded(String message) {
        return new ApiException(503, "server_overloaded", null, "server_busy", message);
    }
}
