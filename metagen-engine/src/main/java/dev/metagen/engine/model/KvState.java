package dev.metagen.engine.model;

import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.Arrays;
import java.util.List;

/**
 * One sequence of a {@link TransformerModel}: its tokens and a block table into the model's paged KV cache
 * ({@link KvBlockPool}); position {@code p} lives in block {@code p / BLOCK}, slot {@code p % BLOCK}.
 * {@link #fork()} copies only the table and retains every block; a block is copied on the first write into it
 * while someone else holds it (only the partially filled last block can be written), so forks cost O(blocks)
 * pointer copies and no key/value data. {@link #truncate} releases whole blocks past the new end. New blocks are
 * drawn from the state's {@link KvReservation} when it has one (its own, or its parent's when it was forked while
 * that was open), see {@link #reserve(int, int, int)}.
 */
final class KvState implements ModelState {
    private static final int B = KvBlockPool.BLOCK;

    final TransformerModel model;
    private final KvBlockPool pool;
    private int length;
    private int[] tokens;
    /** Blocks in use: entries {@code [0, blocks)} are held (one reference each) by this state. */
    KvBlock[] table;
    private int blocks;
    /** Final-norm hidden state at the last position, or {@code null} after truncation. */
    float[] lastHidden;
    /** When set, the final hidden state of every position a forwardAll computes is added here, in order (score heads). */
    java.util.List<float[]> hiddenSink;
    /** Full blocks already offered to the prefix cache. */
    int cachedBlocks;
    private boolean closed;
    /** Where new blocks are drawn from first; {@code null} = only what no reservation is promised. */
    private KvReservation reservation;
    /** The reservation this state made (closed with the state). */
    private KvReservation own;

    KvState(TransformerModel model, KvBlockPool pool) {
        this.model = model;
        this.pool = pool;
        this.tokens = new int[B];
        this.table = new KvBlock[4];
    }

    private KvState(KvState src) {
        this.model = src.model;
        this.pool = src.pool;
        this.length = src.length;
        this.tokens = Arrays.copyOf(src.tokens, Math.max(B, src.length));
        this.blocks = src.blocks;
        this.table = Arrays.copyOf(src.table, Math.max(4, src.blocks));
        for (int b = 0; b < blocks; b++) {
            pool.retain(table[b]);
        }
        this.cachedBlocks = src.cachedBlocks;
        this.reservation = src.reservation; // a fork grows under its parent's promise until it makes its own
        this.lastHidden = src.lastHidden == null ? null : src.lastHidden.clone();
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int[] tokens() {
        return Arrays.copyOf(tokens, length);
    }

    @Override
    public ModelState fork() {
        checkOpen();
        return new KvState(this);
    }

    @Override
    public void truncate(int newLength) {
        checkOpen();
        if (newLength < 0 || newLength > length) {
            throw new MetagenException("cannot truncate a state of " + length + " tokens to " + newLength);
        }
        if (newLength != length) {
            length = newLength;
            lastHidden = null;
            releaseFrom((newLength + B - 1) / B);
            cachedBlocks = Math.min(cachedBlocks, newLength / B);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            releaseFrom(0);
            lastHidden = null;
            if (own != null) {
                own.close();
            }
        }
    }

    /**
     * Reserves the blocks the growth can take: for this state, the blocks from its last (possibly partially filled
     * and shared, so copied on write) block up to {@code length + tokens}; for each fork, the same from
     * {@code length + tokens} up to {@code forkTokens} more. Positions past the context length are never written,
     * so they are not reserved. A state makes one reservation at a time.
     */
    @Override
    public MemoryReservation reserve(int tokens, int forks, int forkTokens) throws InterruptedException {
        return reserve(tokens, forks, forkTokens, true);
    }

    @Override
    public MemoryReservation tryReserve(int tokens) {
        try {
            return reserve(tokens, 0, 0, false);
        } catch (InterruptedException e) {
            throw new IllegalStateException("a reservation that does not wait was interrupted", e);
        }
    }

    private MemoryReservation reserve(int tokens, int forks, int forkTokens, boolean wait) throws InterruptedException {
        checkOpen();
        if (tokens < 0 || forks < 0 || forkTokens < 0) {
            throw new MetagenException("a KV reservation needs tokens, forks and fork tokens >= 0, got " + tokens
                    + ", " + forks + " and " + forkTokens);
        }
        if (own != null && own.open) {
            throw new MetagenException("this model state already holds a KV reservation: close it first");
        }
        int ctx = model.contextLength();
        long end = Math.min((long) length + tokens, ctx);
        long blocks = tokens == 0 ? 0 : blocksBetween(length, end);
        if (forkTokens > 0) {
            blocks += forks * blocksBetween(end, Math.min(end + forkTokens, ctx));
        }
        String what = forks == 0 ? "a sequence of " + end + " tokens"
                : "a sequence of " + end + " tokens with " + forks + " forks of " + forkTokens + " more tokens each";
        KvReservation r = pool.reserve((int) Math.min(Integer.MAX_VALUE, blocks), wait, what);
        if (r != null) {
            own = r;
            reservation = r;
        }
        return r;
    }

    /** Blocks a state of {@code from} positions must obtain to hold {@code to}: its last block may need a copy. */
    private static long blocksBetween(long from, long to) {
        return to <= from ? 0 : (to + B - 1) / B - from / B;
    }

    /** Releases blocks {@code [keep, blocks)}. */
    private void releaseFrom(int keep) {
        for (int b = keep; b < blocks; b++) {
            pool.release(table[b]);
            table[b] = null;
        }
        blocks = Math.min(blocks, keep);
    }

    void checkOpen() {
        if (closed) {
            throw new MetagenException("this model state is closed");
        }
    }

    /**
     * Makes positions {@code [length, needed)} writable: allocates missing blocks and copies the partially filled
     * last block if it is shared. Nothing is computed yet, so a failure (KV memory exhausted) leaves the sequence
     * as it was; blocks already obtained stay in the table as spare capacity.
     */
    void ensureCapacity(int needed) {
        if (needed > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(needed, 2 * tokens.length));
        }
        int first = length / B;
        int last = (needed - 1) / B;
        if (last >= table.length) {
            table = Arrays.copyOf(table, Math.max(last + 1, 2 * table.length));
        }
        // copy-on-write: a block about to be written that a fork or the prefix cache also holds (the partially
        // filled one keeps its filled slots; spare ones left by a failed forward need no copy)
        for (int b = first; b < Math.min(blocks, last + 1); b++) {
            if (pool.shared(table[b])) {
                KvBlock copy = pool.allocate(reservation);
                if (b == first && length % B != 0) {
                    System.arraycopy(table[b].data, 0, copy.data, 0, copy.data.length);
                }
                pool.release(table[b]);
                table[b] = copy;
            }
        }
        while (blocks <= last) {
            table[blocks] = pool.allocate(reservation);
            blocks++;
        }
    }

    /**
     * Adopts {@code cached} (already retained for this state) as the first blocks of this empty state, whose first
     * tokens are {@code ids[0 .. cached.size() * BLOCK)}.
     */
    void adopt(List<KvBlock> cached, int[] ids) {
        releaseFrom(0); // spare blocks a failed first forward may have left
        int n = cached.size() * B;
        ensureTokens(n);
        System.arraycopy(ids, 0, tokens, 0, n);
        if (cached.size() > table.length) {
            table = Arrays.copyOf(table, cached.size());
        }
        for (int b = 0; b < cached.size(); b++) {
            table[b] = cached.get(b);
        }
        blocks = cached.size();
        length = n;
        cachedBlocks = cached.size();
    }

    private void ensureTokens(int needed) {
        if (needed > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(needed, 2 * tokens.length));
        }
    }

    /** Records that {@code token} now sits at position {@code length} (its K/V rows are written by the model). */
    void append(int token) {
        tokens[length++] = token;
    }

    int[] tokenArray() {
        return tokens;
    }

    int blockCount() {
        return blocks;
    }
}
