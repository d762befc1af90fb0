package dev.metagen.engine.model;

import java.util.Locale;

/**
 * The decoder-only architectures of llama.cpp's {@code llama-arch.cpp} that the engine runs, each as llama.cpp's
 * {@code src/models/<arch>.cpp} builds it.
 */
public enum Architecture {
    /** Llama 2/3, Mistral, TinyLlama, SmolLM: rope on adjacent pairs (llama.cpp "NORM" mode). */
    LLAMA(false, false, false),
    /** Qwen2 / Qwen2.5: biases on Q, K, V; NEOX rope (pairs i, i + d/2). */
    QWEN2(true, true, false),
    /** Qwen3: per-head RMS norm of Q and K before rope; NEOX rope; head dim from key_length. */
    QWEN3(true, false, true),
    /**
     * Gemma 3: embeddings scaled by sqrt(n_embd), per-head RMS norm of Q and K, RMS norms after attention and after
     * the feed-forward network (sandwich norms), GeGLU (tanh GELU gate), sliding-window layers with their own rope
     * base among global ones, queries scaled before attention, optional final logit softcapping; NEOX rope.
     */
    GEMMA3(true, false, true),
    /**
     * Phi-3 / Phi-4-mini: fused Q/K/V ({@code attn_qkv}) and gate/up ({@code ffn_up}, gate first) projections,
     * partial rotary (rope.dimension_count below the head size) with LongRoPE factors, queries scaled before
     * attention; NEOX rope.
     */
    PHI3(true, false, false);

    /** Whether rope rotates the pairs (i, i + n_rot/2) instead of (2i, 2i + 1). */
    public final boolean neoxRope;
    public final boolean qkvBias;
    public final boolean qkNorm;

    Architecture(boolean neoxRope, boolean qkvBias, boolean qkNorm) {
        this.neoxRope = neoxRope;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    /** The {@code general.architecture} value. */
    public String ggufName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The architecture named {@code name}, or {@code null}. */
    public static Architecture byGgufName(String name) {
        for (Architecture a : values()) {
            if (a.ggufName().equals(name)) {
                return a;
            }
        }
        return null;
    }
}
