package dev.metagen.llamacpp;

import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * A mirror of the cells of one llama.cpp context's unified KV cache, and memory admission over them: the same
 * reservation-at-admission scheme as the pure-Java engine's paged cache (FIFO, only the head of the queue admitted,
 * callers wait holding nothing), with one cell per position instead of blocks.
 *
 * <p>libllama's unified cache gives every new position of a sequence its own cell, lets {@code llama_memory_seq_cp}
 * share a sequence's cells with another (a cell is freed when no sequence holds it) and reports a full cache only
 * by failing {@code llama_decode}. Counting cells here, with the same sharing, tells before a decode whether its
 * positions fit, and lets a generation reserve its worst case so that it never overflows the context. A cell here is
 * an id in {@code [0, capacity)} with a reference count, not libllama's slot index (libllama places cells where it
 * likes): only the number in use has to agree. Everything changes under this object's lock; waiting happens on it
 * while the model's lock is not held.
 */
final class KvCells {
    final int capacity;
    private final int[] refs;
    private final int[] free;
    private int freeTop;
    private int live;
    /** Cells promised to open reservations and not yet drawn. */
    private int promised;
    private final ArrayDeque<Reservation> waiting = new ArrayDeque<>();

    KvCells(int capacity) {
        this.capacity = capacity;
        this.refs = new int[capacity];
        this.free = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            free[i] = capacity - 1 - i;
        }
        this.freeTop = capacity;
    }

    /** Promised cells of one generation; states bound to it draw their new cells from it first. */
    final class Reservation implements MemoryReservation {
        final int granted;
        int charged;
        boolean open;

        Reservation(int granted) {
            this.granted = granted;
        }

        int unused() {
            return open ? granted - charged : 0;
        }

        @Override
        public void close() {
            KvCells.this.close(this);
        }
    }

    /**
     * Promises {@code cells}, waiting in arrival order until they fit when {@code wait}, else {@code null} when they
     * do not fit now or others wait ahead.
     *
     * @throws MetagenException     if {@code cells} exceeds the whole cache
     * @throws InterruptedException if interrupted while waiting: the request leaves the queue, promised nothing
     */
    Reservation reserve(int cells, boolean wait, String what) throws InterruptedException {
        if (cells < 0) {
            throw new IllegalArgumentException("negative reservation " + cells);
        }
        if (cells > capacity) {
            throw new MetagenException("llama.cpp KV cache: " + what + " needs up to " + cells + " cells, more than the"
                    + " whole context of " + capacity + " cells, so it can never run: lower the prompt or the maximum"
                    + " number of tokens, or raise the context (--ctx)");
        }
        Reservation r = new Reservation(cells);
        synchronized (this) {
            if (cells == 0 || waiting.isEmpty() && live + promised + cells <= capacity) {
                admit(r);
                return r;
            }
            if (!wait) {
                return null;
            }
            waiting.add(r);
            try {
                while (waiting.peek() != r || live + promised + cells > capacity) {
                    wait();
                }
            } catch (InterruptedException e) {
                boolean head = waiting.peek() == r;
                waiting.remove(r);
                if (head) {
                    notifyAll(); // the next one may fit
                }
                throw e;
            }
            waiting.poll();
            admit(r);
            notifyAll(); // the new head may fit too
            return r;
        }
    }

    private void admit(Reservation r) {
        r.open = true;
        promised += r.granted;
    }

    synchronized void close(Reservation r) {
        if (r.open) {
            promised -= r.unused();
            r.open = false;
            if (!waiting.isEmpty()) {
                notifyAll();
            }
        }
    }

    /**
     * Takes {@code counts[i]} new cells for the holder bound to {@code reservations[i]} ({@code null}: none), all or
     * nothing: drawn from the reservation while it has promise left, else from what no reservation is promised.
     *
     * @return the new cell ids, per holder
     * @throws MetagenException if the unreserved part does not fit; nothing is taken then
     */
    synchronized int[][] allocate(Reservation[] reservations, int[] counts) {
        int fromFree = 0;
        java.util.IdentityHashMap<Reservation, Integer> drawn = new java.util.IdentityHashMap<>();
        for (int i = 0; i < counts.length; i++) {
            Reservation r = reservations[i];
            int fromReservation = 0;
            if (r != null) {
                int already = drawn.getOrDefault(r, 0);
                fromReservation = Math.min(counts[i], r.unused() - already);
                drawn.put(r, already + fromReservation);
            }
            fromFree += counts[i] - fromReservation;
        }
        if (live + promised + fromFree > capacity) {
            throw new MetagenException("llama.cpp KV cache full: " + (live + fromFree) + " cells needed of " + capacity
                    + " (" + live + " held by live states, " + promised + " promised to admitted generations); close"
                    + " states or raise the context (--ctx)");
        }
        for (var e : drawn.entrySet()) {
            e.getKey().charged += e.getValue();
            promised -= e.getValue();
        }
        int[][] out = new int[counts.length][];
        for (int i = 0; i < counts.length; i++) {
            out[i] = new int[counts[i]];
            for (int j = 0; j < counts[i]; j++) {
                int c = free[--freeTop];
                refs[c] = 1;
                out[i][j] = c;
            }
            live += counts[i];
        }
        return out;
    }

    /** One more holder of each of {@code cells[0, n)} (a fork shares its parent's cells). */
    synchronized void retain(int[] cells, int n) {
        for (int i = 0; i < n; i++) {
            refs[cells[i]]++;
        }
    }

    /** One holder fewer of each of {@code cells[from, to)}; cells nobody holds are free again. */
    synchronized void release(int[] cells, int from, int to) {
        boolean freed = false;
        for (int i = from; i < to; i++) {
            int c = cells[i];
            if (refs[c] <= 0) {
                throw new IllegalStateException("double release of KV cell " + c);
            }
            if (--refs[c] == 0) {
                free[freeTop++] = c;
                live--;
                freed = true;
            }
        }
        if (freed && !waiting.isEmpty()) {
            notifyAll();
        }
    }

    /** Cells held by states. */
    synchronized int live() {
        return live;
    }

    /** Cells promised to open reservations and not yet drawn. */
    synchronized int promised() {
        return promised;
    }

    /** Reservations waiting for admission. */
    synchronized int waiting() {
        return waiting.size();
    }

    @Override
    public synchronized String toString() {
        return "KvCells[live=" + live + ", promised=" + promised + ", waiting=" + waiting.size() + ", capacity="
                + capacity + ", refs=" + Arrays.stream(refs).sum() + "]";
    }
}
