package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

import java.util.ArrayDeque;

/**
 * The paged KV cache's memory (Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention",
 * SOSP 2023): fixed-size {@link KvBlock}s handed out against a budget and reference-counted, so forks share blocks
 * and a block returns when its last holder lets go. When the budget is spent, unreferenced prefix-cache blocks are
 * evicted (least recently used first).
 *
 * <p>Memory admission: a generation first {@linkplain #reserve reserves} its worst case (the blocks its prompt and
 * its maximum number of new tokens can take) and then allocates against that {@link KvReservation}, which can never
 * fail. The pool keeps {@code live + promised <= maxBlocks}, where {@code promised} is what open reservations have
 * not yet drawn; a reservation that does not fit waits in a FIFO queue and only the head of the queue is admitted,
 * so a large request is never starved by a stream of small ones (a waiting head also makes the prefix cache give
 * up its unreferenced blocks). This is reservation at admission rather than preemption (swapping out or recomputing
 * the youngest sequence) because it needs no rollback of a sequence's sampled tokens and keeps every admitted
 * generation's output equal to its solo run. It is deadlock-free as long as callers wait only while holding no
 * blocks: every admitted holder finishes without waiting again and its close (and the release of its blocks)
 * lets the head in; a request larger than the whole budget could never be admitted and fails at once instead.
 * Allocations without a reservation (states that never reserve) still fail with a clear {@link MetagenException}
 * when nothing is left beyond what is promised.
 * All reference counts, reservations and the {@link PrefixCache} change under this object's lock.
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
    /** Blocks promised to open reservations and not yet allocated against them. */
    private int promised;
    /** Reservations waiting for admission, in arrival order; only the head may be admitted. */
    private final ArrayDeque<KvReservation> waiting = new ArrayDeque<>();
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

    /**
     * A block with one reference, drawn from {@code reservation} while it has promise left; otherwise from what no
     * reservation is promised, evicting unreferenced prefix-cache blocks if that is spent.
     */
    synchronized KvBlock allocate(KvReservation reservation) {
        if (reservation != null && reservation.unused() > 0) {
            // live + promised <= maxBlocks and this promise is part of promised, so a block is free
            reservation.charged++;
            promised--;
        } else {
            if (live + promised >= maxBlocks && cache != null) {
                cache.evictLocked(Math.max(live + promised - maxBlocks + 1, maxBlocks / 16));
            }
            if (live + promised >= maxBlocks) {
                long mib = (long) maxBlocks * blockBytes(layers, kvDim, vDim) >> 20;
                throw new MetagenException("KV cache memory exhausted: all " + maxBlocks + " blocks of " + BLOCK
                        + " positions (" + mib + " MiB) are held by live states (" + live + ") or promised to"
                        + " admitted generations (" + promised + "); close states or raise the KV budget"
                        + " (ModelOptions.kvBudgetBytes, --kv-budget-mib)");
            }
        }
        KvBlock b = spare.poll();
        if (b == null) {
            b = new KvBlock(layers * stride);
        }
        b.refs = 1;
        live++;
        return b;
    }

    /**
     * Promises {@code blocks} blocks, waiting in arrival order until they fit when {@code wait}, else {@code null}
     * when they do not fit now or others wait ahead. {@code what} describes the request for the error of one that
     * can never fit.
     *
     * @throws MetagenException     if {@code blocks} exceeds the whole budget
     * @throws InterruptedException if interrupted while waiting: the request leaves the queue, promised nothing
     */
    KvReservation reserve(int blocks, boolean wait, String what) throws InterruptedException {
        if (blocks < 0) {
            throw new IllegalArgumentException("negative reservation " + blocks);
        }
        if (blocks > maxBlocks) {
            long bytes = blockBytes(layers, kvDim, vDim);
            throw new MetagenException("KV memory: " + what + " needs up to " + blocks + " KV blocks of " + BLOCK
                    + " positions (" + mib(blocks * bytes) + " MiB), more than the whole KV budget of " + maxBlocks
                    + " blocks (" + mib(maxBlocks * bytes) + " MiB), so it can never run: lower the prompt or the"
                    + " maximum number of tokens, or raise the KV budget (--kv-budget-mib)");
        }
        KvReservation r = new KvReservation(this, blocks);
        synchronized (this) {
            if (blocks == 0 || waiting.isEmpty() && fitsLocked(blocks)) {
                admitLocked(r);
                return r;
            }
            if (!wait) {
                return null;
            }
            waiting.add(r);
            try {
                while (waiting.peek() != r || !fitsLocked(blocks)) {
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
            admitLocked(r);
            notifyAll(); // the new head may fit too
            return r;
        }
    }

    private static double mib(double bytes) {
        return Math.round(bytes / (1 << 20) * 10) / 10.0;
    }

    /** Whether {@code blocks} more can be promised, evicting unreferenced prefix-cache blocks to make room. */
    private boolean fitsLocked(int blocks) {
        int over = live + promised + blocks - maxBlocks;
        if (over > 0 && cache != null) {
            cache.evictLocked(over);
            over = live + promised + blocks - maxBlocks;
        }
        return over <= 0;
    }

    private void admitLocked(KvReservation r) {
        r.open = true;
        promised += r.granted;
    }

    /** Ends {@code r}: its unused promise goes back and waiting reservations get another look. */
    synchronized void close(KvReservation r) {
        if (r.open) {
            promised -= r.unused();
            r.open = false;
            if (!waiting.isEmpty()) {
                notifyAll();
            }
        }
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
            if (!waiting.isEmpty()) {
                notifyAll();
            }
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

    /** Blocks promised to open reservations and not yet allocated. */
    synchronized int promisedBlocks() {
        return promised;
    }

    /** Reservations waiting for admission. */
    synchronized int waitingReservations() {
        return waiting.size();
    }
}
