package dev.metagen.engine.model;

import dev.metagen.core.MemoryReservation;

/**
 * Blocks of a {@link KvBlockPool} promised to one generation: the states bound to it (the one that made it and
 * forks made from that while it is open) draw their new blocks from it, so their growth can never run out of
 * memory. Its fields change only under the pool's lock.
 */
final class KvReservation implements MemoryReservation {
    private final KvBlockPool pool;
    /** Blocks promised. */
    final int granted;
    /** Blocks allocated against the promise so far (a released block is not given back to it). */
    int charged;
    /** Admitted and not yet closed. */
    boolean open;

    KvReservation(KvBlockPool pool, int granted) {
        this.pool = pool;
        this.granted = granted;
    }

    /** The promise not yet drawn on. */
    int unused() {
        return open ? granted - charged : 0;
    }

    @Override
    public void close() {
        pool.close(this);
    }
}
