package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;

/**
 * Hyperparameters of a Llama-family model, read from the {@code <arch>.*} GGUF metadata keys that llama.cpp's
 * {@code llama-model.cpp} reads (names as in {@code llama-arch.cpp}).
 *
 * @param headDim       per-head width of queries and keys ({@code attention.key_length}, default n_embd / n_head)
 * @param valueDim      per-head width of values ({@code attention.value_length}; equal to headDim in every file
 *                      {@link #read} accepts, as llama.cpp requires for these architectures)
 * @param ropeDim       leading dims of each head that rope rotates ({@code rope.dimension_count}; equal to headDim
 *                      in every file {@link #read} accepts, as llama.cpp requires for these architectures)
 * @param ropeFreqScale positions are multiplied by this (linear rope scaling: 1 / factor)
 * @param neoxRope      whether rope rotates the pairs (i, i + ropeDim/2) rather than (2i, 2i + 1): the architecture's
 *                      own mode, or a Hugging Face directory's llama weights as stored ({@link GgufFile#rotateHalfQk})
 */
public record ModelConfig(Architecture arch, String name, int embd, int layers, int heads, int kvHeads,
                          int headDim, int valueDim, int ffn, int vocab, int contextLength, float ropeTheta,
                          int ropeDim, float ropeFreqScale, float rmsEps, boolean neoxRope) {

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int vDim() {
        return kvHeads * valueDim;
    }

    /** Output width of attention before {@code attn_output}. */
    public int attnDim() {
        return heads * valueDim;
    }

    static ModelConfig read(GgufFile f, int vocab) {
        String where = f.path().toString();
        String archName = f.getString("general.architecture", null);
        if (archName == null) {
            throw new MetagenException(where + ": metadata general.architecture is missing");
        }
        Architecture arch = Architecture.byGgufName(archName);
        if (arch == null) {
            throw new MetagenException(where + ": unsupported architecture '" + archName
                    + "' (supported: llama, qwen2, qwen3)");
        }
        String p = archName + ".";
        long experts = f.getLong(p + "expert_count", 0);
        if (experts > 0) {
            throw f.invalid("metadata " + p + "expert_count = " + experts
                    + ": mixture-of-experts models are not supported");
        }
        int embd = positive(f, p + "embedding_length", f.requireInt(p + "embedding_length"));
        int layers = positive(f, p + "block_count", f.requireInt(p + "block_count"));
        int heads = positive(f, p + "attention.head_count", f.requireInt(p + "attention.head_count"));
        int kvHeads = positive(f, p + "attention.head_count_kv", f.getInt(p + "attention.head_count_kv", heads));
        if (heads % kvHeads != 0) {
            throw new MetagenException(where + ": attention.head_count " + heads
                    + " is not a multiple of attention.head_count_kv " + kvHeads);
        }
        int ffn = positive(f, p + "feed_forward_length", f.requireInt(p + "feed_forward_length"));
        if (!f.has(p + "attention.key_length") && embd % heads != 0) {
            throw f.invalid("metadata " + p + "attention.head_count " + heads + " does not divide "
                    + p + "embedding_length " + embd + " (and " + p + "attention.key_length is not set)");
        }
        int headDim = positive(f, p + "attention.key_length", f.getInt(p + "attention.key_length", embd / heads));
        int valueDim = positive(f, p + "attention.value_length", f.getInt(p + "attention.value_length", headDim));
        // one head size for keys, values and rope (checked below): llama.cpp's llama, qwen2 and qwen3 graphs assert
        // it, and its llama loader refuses another rope.dimension_count
        if (valueDim != headDim) {
            throw f.invalid("metadata " + p + "attention.value_length " + valueDim + " differs from the key length "
                    + headDim + " (" + archName + " uses one head size for keys and values)");
        }
        // llama.cpp requires the context length and the norm epsilon (no default)
        int ctx = positive(f, p + "context_length", f.requireInt(p + "context_length"));
        float theta = f.getFloat(p + "rope.freq_base", 10000f);
        if (!(theta > 0) || Float.isInfinite(theta)) {
            throw f.invalid("metadata " + p + "rope.freq_base must be a positive finite number, got " + theta);
        }
        int ropeDim = f.getInt(p + "rope.dimension_count", headDim);
        if (ropeDim <= 0 || ropeDim > headDim || ropeDim % 2 != 0) {
            throw new MetagenException(where + ": rope.dimension_count " + ropeDim
                    + " must be even and in [2, " + headDim + "]");
        }
        if (ropeDim != headDim) {
            throw f.invalid("metadata " + p + "rope.dimension_count " + ropeDim + " differs from the head size "
                    + headDim + " (" + archName + " rotates whole heads)");
        }
        // older converters wrote linear scaling as rope.scale_linear (a factor), newer ones as rope.scaling.*
        float scaleLinear = f.getFloat(p + "rope.scale_linear", 1f);
        if (!(scaleLinear > 0)) {
            throw new MetagenException(where + ": rope.scale_linear must be > 0, got " + scaleLinear);
        }
        float freqScale = 1f / scaleLinear;
        String scaling = f.getString(p + "rope.scaling.type", "none");
        switch (scaling) {
            case "none" -> { }
            case "linear" -> {
                float factor = f.getFloat(p + "rope.scaling.factor", 1f);
                if (!(factor > 0)) {
                    throw new MetagenException(where + ": rope.scaling.factor must be > 0, got " + factor);
                }
                freqScale = 1f / factor;
            }
            default -> throw new MetagenException(where + ": unsupported rope scaling type '" + scaling
                    + "' (supported: none, linear, and llama3 factors in rope_freqs.weight)");
        }
        String epsKey = p + "attention.layer_norm_rms_epsilon";
        if (!f.has(epsKey)) {
            throw f.invalid("required metadata key " + epsKey + " is missing");
        }
        float eps = f.getFloat(epsKey, 0f);
        if (!(eps >= 0) || Float.isInfinite(eps)) {
            throw f.invalid("metadata " + epsKey + " must be a finite number >= 0, got " + eps);
        }
        String name = f.getString("general.name", f.path().getFileName().toString());
        return new ModelConfig(arch, name, embd, layers, heads, kvHeads, headDim, valueDim, ffn, vocab, ctx,
                theta, ropeDim, freqScale, eps, arch.neoxRope || f.rotateHalfQk());
    }

    private static int positive(GgufFile f, String key, int v) {
        if (v <= 0) {
            throw f.invalid("metadata " + key + " must be > 0, got " + v);
        }
        return v;
    }
}
