package dev.metagen.engine.model;

/**
 * {@value KvBlockPool#BLOCK} consecutive positions of one sequence's key/value cache, for every layer, in one array:
 * layer {@code l} starts at {@code l * stride}, its keys first ({@code BLOCK x kvDim}), then its values
 * ({@code BLOCK x vDim}). Shared between forked states and the prefix cache, counted by {@link #refs}; only the
 * {@link KvBlockPool} changes the count, under its lock.
 */
final class KvBlock {
    final float[] data;
    /** States and prefix-cache nodes holding this block; 0 once it went back to the pool. */
    int refs;

    KvBlock(int floats) {
        this.data = new float[floats];
    }
}
