package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

import java.util.ArrayDeque;

/**
 * The paged KV cache's memory (Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention",
 * SOSP 2023): fixed-size {@link KvBlock}s handed out against a budget and reference-counted, so forks share blocks
 * and a block returns when its last holder lets go. When the budget is spent, unreferenced prefix-cache blocks are
 * evicted (least recently used first); if none remain, allocation fails with a clear {@link MetagenException}.
 * All reference counts and the {@link PrefixCache} change under this object's lock.
 */
final class KvBlockPool {
    /** Positions per block. */
    static final int BLOCK = 16;

    static {
        // attention walks a state's positions in runs of AttentionKernels.BLOCK that must not straddle two blocks
        if (BLOCK % AttentionKernels.BLOCK != 0) {
            throw new IllegalStateException("KV block size " + BLOCK + " is not a multiple of the attention block "
                    + AttentionKernels.BLOCK);
        }
    }
    /** Released arrays kept for reuse (they do not count against the budget; bounded so idle memory is small). */
    private static final int MAX_SPARE = 32;

    final int layers;
    final int kvDim;
    final int vDim;
    /** Floats per layer in a block. */
    final int stride;
    final int maxBlocks;
    private final ArrayDeque<KvBlock> spare = new ArrayDeque<>();
    private int live;
    private PrefixCache cache;

    KvBlockPool(int layers, int kvDim, int vDim, int maxBlocks) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.vDim = vDim;
        this.stride = BLOCK * (kvDim + vDim);
        this.maxBlocks = maxBlocks;
    }

    static long blockBytes(int layers, int kvDim, int vDim) {
        return (long) layers * BLOCK * (kvDim + vDim) * Float.BYTES;
    }

    void attach(PrefixCache prefixCache) {
        this.cache = prefixCache;
    }

    /** A block with one reference, evicting unreferenced prefix-cache blocks if the budget is spent. */
    synchronized KvBlock allocate() {
        if (live >= maxBlocks && cache != null) {
            cache.evictLocked(Math.max(1, maxBlocks / 16));
        }
        if (live >= maxBlocks) {
            long mib = (long) maxBlocks * blockBytes(layers, kvDim, vDim) >> 20;
            throw new MetagenException("KV cache memory exhausted: all " + maxBlocks + " blocks of " + BLOCK
                    + " positions (" + mib + " MiB) are held by live states; close states or raise the KV budget"
                    + " (ModelOptions.kvBudgetBytes, --kv-budget-mib)");
        }
        KvBlock b = spare.poll();
        if (b == null) {
            b = new KvBlock(layers * stride);
        }
        b.refs = 1;
        live++;
        return b;
    }

    synchronized void retain(KvBlock b) {
        if (b.refs <= 0) {
            throw new IllegalStateException("retain of a released KV block");
        }
        b.refs++;
    }

    synchronized void release(KvBlock b) {
        if (b.refs <= 0) {
            throw new IllegalStateException("double release of a KV block");
        }
        if (--b.refs == 0) {
            live--;
            if (spare.size() < MAX_SPARE) {
                spare.push(b);
            }
        }
    }

    /** Whether someone besides the caller holds {@code b} (a write must copy it first). */
    synchronized boolean shared(KvBlock b) {
        return b.refs > 1;
    }

    /** Blocks held by states or the prefix cache. */
    synchronized int liveBlocks() {
        return live;
    }
}
