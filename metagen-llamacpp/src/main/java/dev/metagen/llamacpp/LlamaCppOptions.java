package dev.metagen.llamacpp;

import dev.metagen.core.MetagenException;

/**
 * Settings of a {@link LlamaCppModel}'s llama.cpp context.
 *
 * @param threads       CPU threads for decoding and batches; 0 = all available processors
 * @param contextLength KV cache cells shared by all sequences; 0 = the model's training context, capped at
 *                      {@link #DEFAULT_CONTEXT_CAP}
 * @param batchSize     most tokens handed to one {@code llama_decode}; longer forwards are split
 * @param sequences     most live states (llama.cpp sequence ids) at once, forks included; by default llama.cpp's
 *                      maximum, so 255 samples of one prompt (its state and a fork each) fit in one context
 * @param gpuLayers     layers offloaded to the GPU of a CUDA, Metal or Vulkan build; 0 = none (CPU), -1 = all; a CPU
 *                      build has no GPU and keeps every layer on the CPU
 */
public record LlamaCppOptions(int threads, int contextLength, int batchSize, int sequences, int gpuLayers) {
    public static final int DEFAULT_CONTEXT_CAP = 4096;
    public static final LlamaCppOptions DEFAULTS = new LlamaCppOptions(0, 0, 512, LlamaCppOptions.MAX_SEQUENCES, 0);
    /** llama.cpp's LLAMA_MAX_SEQ. */
    public static final int MAX_SEQUENCES = 256;

    public LlamaCppOptions {
        if (threads < 0) {
            throw new MetagenException("llama.cpp threads must be >= 0 (0 = all processors), got " + threads);
        }
        if (contextLength < 0) {
            throw new MetagenException("llama.cpp context length must be >= 0 (0 = the model's), got " + contextLength);
        }
        if (batchSize < 1) {
            throw new MetagenException("llama.cpp batch size must be >= 1, got " + batchSize);
        }
        if (sequences < 1 || sequences > MAX_SEQUENCES) {
            throw new MetagenException("llama.cpp sequences must be in [1, " + MAX_SEQUENCES + "], got " + sequences);
        }
        if (gpuLayers < -1) {
            throw new MetagenException("llama.cpp GPU layers must be >= -1 (-1 = all, 0 = none), got " + gpuLayers);
        }
    }

    public LlamaCppOptions withThreads(int n) {
        return new LlamaCppOptions(n, contextLength, batchSize, sequences, gpuLayers);
    }

    public LlamaCppOptions withContextLength(int n) {
        return new LlamaCppOptions(threads, n, batchSize, sequences, gpuLayers);
    }

    public LlamaCppOptions withBatchSize(int n) {
        return new LlamaCppOptions(threads, contextLength, n, sequences, gpuLayers);
    }

    public LlamaCppOptions withSequences(int n) {
        return new LlamaCppOptions(threads, contextLength, batchSize, n, gpuLayers);
    }

    public LlamaCppOptions withGpuLayers(int n) {
        return new LlamaCppOptions(threads, contextLength, batchSize, sequences, n);
    }
}
