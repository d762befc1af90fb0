package dev.metagen.engine.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Automatic prefix caching across requests (as in SGLang's RadixAttention, Zheng et al. 2024): a radix tree whose
 * edges are the token ids of full KV blocks, each node holding one reference to the block computed for that prefix.
 * A new state whose first tokens walk down the tree adopts those blocks and computes only the rest; blocks no state
 * holds any more stay cached until the {@link KvBlockPool} needs room, then leaves go least recently used first.
 * Every method runs under the pool's lock.
 */
final class PrefixCache {
    private static final int B = KvBlockPool.BLOCK;

    private final KvBlockPool pool;
    private final Node root = new Node(null, null, null);
    private long clock;
    private int cached;
    private long lookups;
    private long hits;
    private long reusedTokens;
    private long evictions;

    PrefixCache(KvBlockPool pool) {
        this.pool = pool;
        pool.attach(this);
    }

    /** The ids of one full block, as a hash key. */
    private record Key(int[] ids) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(ids, k.ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }
    }

    private static final class Node {
        final Node parent;
        final Key key;
        final KvBlock block;
        final Map<Key, Node> children = new HashMap<>();
        long lastUse;

        Node(Node parent, Key key, KvBlock block) {
            this.parent = parent;
            this.key = key;
            this.block = block;
        }
    }

    /**
     * The cached blocks for the longest run of full blocks of {@code tokens}, at most {@code maxBlocks}, each
     * retained once for the caller.
     */
    List<KvBlock> lookup(int[] tokens, int maxBlocks) {
        synchronized (pool) {
            lookups++;
            List<KvBlock> out = new ArrayList<>();
            Node n = root;
            long now = ++clock;
            for (int b = 0; b < maxBlocks; b++) {
                Node c = n.children.get(new Key(Arrays.copyOfRange(tokens, b * B, (b + 1) * B)));
                if (c == null) {
                    break;
                }
                c.lastUse = now;
                pool.retain(c.block);
                out.add(c.block);
                n = c;
            }
            if (!out.isEmpty()) {
                hits++;
                reusedTokens += (long) out.size() * B;
            }
            return out;
        }
    }

    /** Records the first {@code fullBlocks} blocks of a state whose tokens are {@code tokens}. */
    void insert(int[] tokens, KvBlock[] table, int fullBlocks) {
        synchronized (pool) {
            Node n = root;
            long now = ++clock;
            for (int b = 0; b < fullBlocks; b++) {
                Key key = new Key(Arrays.copyOfRange(tokens, b * B, (b + 1) * B));
                Node c = n.children.get(key);
                if (c == null) {
                    pool.retain(table[b]);
                    c = new Node(n, key, table[b]);
                    n.children.put(key, c);
                    cached++;
                }
                c.lastUse = now;
                n = c;
            }
        }
    }

    /**
     * Evicts up to {@code want} leaves that no state holds, least recently used first (a parent becomes a leaf when
     * its last child goes). Caller holds the pool's lock.
     */
    int evictLocked(int want) {
        int freed = 0;
        while (freed < want) {
            List<Node> leaves = new ArrayList<>();
            collectFreeLeaves(root, leaves);
            if (leaves.isEmpty()) {
                break;
            }
            leaves.sort((a, b) -> Long.compare(a.lastUse, b.lastUse));
            for (Node leaf : leaves) {
                if (freed == want) {
                    break;
                }
                leaf.parent.children.remove(leaf.key);
                cached--;
                evictions++;
                freed++;
                pool.release(leaf.block);
            }
        }
        return freed;
    }

    private static void collectFreeLeaves(Node n, List<Node> out) {
        for (Node c : n.children.values()) {
            if (c.children.isEmpty()) {
                if (c.block.refs == 1) {
                    out.add(c);
                }
            } else {
                collectFreeLeaves(c, out);
            }
        }
    }

    /** Drops every cached block (states keep theirs). */
    void clear() {
        synchronized (pool) {
            releaseAll(root);
            root.children.clear();
            cached = 0;
        }
    }

    private void releaseAll(Node n) {
        for (Node c : n.children.values()) {
            releaseAll(c);
            pool.release(c.block);
        }
    }

    KvCacheStats stats() {
        synchronized (pool) {
            return new KvCacheStats(B, KvBlockPool.blockBytes(pool.layers, pool.kvDim, pool.vDim), pool.maxBlocks,
                    pool.liveBlocks(), cached, lookups, hits, reusedTokens, evictions, pool.promisedBlocks(),
                    pool.waitingReservations());
        }
    }
}
