package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

/** The size of a {@link TransformerModel}'s paged KV cache in {@link KvBlockPool} blocks. */
final class KvBudget {
    private KvBudget() {}

    /** The KV budget in blocks: the caller's bytes, or the default of {@link ModelOptions#kvBudgetBytes}. */
    static int blocks(ModelOptions options, int context, long blockBytes) {
        long perSequence = (context + KvBlockPool.BLOCK - 1) / KvBlockPool.BLOCK;
        if (options.kvBudgetBytes() > 0) {
            if (options.kvBudgetBytes() < blockBytes) {
                throw new MetagenException("KV budget of " + options.kvBudgetBytes() + " bytes is less than one block ("
                        + blockBytes + " bytes = " + KvBlockPool.BLOCK + " positions of every layer's keys and values)");
            }
            return (int) Math.min(Integer.MAX_VALUE, options.kvBudgetBytes() / blockBytes);
        }
        long wanted = perSequence * ModelOptions.DEFAULT_KV_SEQUENCES;
        long heapCap = Runtime.getRuntime().maxMemory() / 2 / blockBytes;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(perSequence, Math.min(wanted, heapCap)));
    }
}
