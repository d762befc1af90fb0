package dev.metagen.core;

/**
 * A promise of model memory (KV cache) for a sequence that is about to grow, from
 * {@link ModelState#reserve(int, int, int)}; closing it returns what was promised but not used.
 */
public interface MemoryReservation extends AutoCloseable {
    /** The reservation of a model that does not limit memory: closing it does nothing. */
    MemoryReservation NONE = () -> { };

    /** Returns the unused part of the promise and lets waiting reservations in; closing twice is harmless. */
    @Override
    void close();
}
