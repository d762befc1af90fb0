package dev.metagen.engine.model;

/**
 * A snapshot of a model's paged KV cache.
 *
 * @param blockSize      positions per block
 * @param blockBytes     bytes per block (all layers' keys and values)
 * @param maxBlocks      the budget, in blocks
 * @param liveBlocks     blocks held by states or the prefix cache
 * @param cachedBlocks   blocks held by the prefix cache (some may also be held by states)
 * @param prefixLookups  first forwards of new states that consulted the prefix cache
 * @param prefixHits     of those, the ones that reused at least one block
 * @param reusedTokens   prompt tokens whose computation a prefix hit saved
 * @param evictions      prefix-cache blocks evicted to make room
 * @param promisedBlocks blocks promised to admitted generations' reservations and not yet allocated
 * @param waiting        reservations waiting for admission
 */
public record KvCacheStats(int blockSize, long blockBytes, int maxBlocks, int liveBlocks, int cachedBlocks,
                           long prefixLookups, long prefixHits, long reusedTokens, long evictions,
                           int promisedBlocks, int waiting) {
}
