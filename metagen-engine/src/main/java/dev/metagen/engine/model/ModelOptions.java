package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

/**
 * How to run a {@link TransformerModel}.
 *
 * @param threads       worker threads for the matrix products; 0 = all available processors
 * @param contextLength tokens a sequence may hold; 0 = min(the model's context_length, 4096)
 * @param kvBudgetBytes bound on the paged KV cache (all states and the prefix cache together), in bytes; 0 = the
 *                      default: room for {@value #DEFAULT_KV_SEQUENCES} full-context sequences, capped at half the
 *                      maximum heap (never less than one full-context sequence)
 * @param prefixCache   whether full KV blocks are kept across requests and reused by a new state whose first
 *                      tokens match them (see {@link PrefixCache})
 */
public record ModelOptions(int threads, int contextLength, long kvBudgetBytes, boolean prefixCache) {
    public static final ModelOptions DEFAULTS = new ModelOptions(0, 0);

    /** The context length used when the caller asks for none. */
    public static final int DEFAULT_CONTEXT_CAP = 4096;

    /** Full-context sequences the default KV budget has room for. */
    public static final int DEFAULT_KV_SEQUENCES = 8;

    public ModelOptions {
        if (threads < 0) {
            throw new MetagenException("threads must be >= 0 (0 = all processors), got " + threads);
        }
        if (contextLength < 0) {
            throw new MetagenException("context length must be >= 0 (0 = model default), got " + contextLength);
        }
        if (kvBudgetBytes < 0) {
            throw new MetagenException("KV budget must be >= 0 bytes (0 = default), got " + kvBudgetBytes);
        }
    }

    /** Default KV budget, prefix cache on. */
    public ModelOptions(int threads, int contextLength) {
        this(threads, contextLength, 0, true);
    }

    public ModelOptions withKvBudgetBytes(long bytes) {
        return new ModelOptions(threads, contextLength, bytes, prefixCache);
    }

    public ModelOptions withPrefixCache(boolean enabled) {
        return new ModelOptions(threads, contextLength, kvBudgetBytes, enabled);
    }

    int effectiveThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
