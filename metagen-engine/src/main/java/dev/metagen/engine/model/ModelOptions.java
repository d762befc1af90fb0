package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;

/**
 * How to run a {@link TransformerModel}.
 *
 * @param threads       worker threads for the matrix products; 0 = all available processors
 * @param contextLength tokens a sequence may hold; 0 = min(the model's context_length, 4096)
 */
public record ModelOptions(int threads, int contextLength) {
    public static final ModelOptions DEFAULTS = new ModelOptions(0, 0);

    /** The context length used when the caller asks for none. */
    public static final int DEFAULT_CONTEXT_CAP = 4096;

    public ModelOptions {
        if (threads < 0) {
            throw new MetagenException("threads must be >= 0 (0 = all processors), got " + threads);
        }
        if (contextLength < 0) {
            throw new MetagenException("context length must be >= 0 (0 = model default), got " + contextLength);
        }
    }

    int effectiveThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
