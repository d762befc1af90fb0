package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;

/**
 * Hyperparameters of a model of one of the {@link Architecture}s, read from the {@code <arch>.*} GGUF metadata keys
 * that llama.cpp's {@code llama-model.cpp} and {@code src/models/<arch>.cpp} read (names as in {@code llama-arch.cpp}).
 *
 * @param headDim       per-head width of queries and keys ({@code attention.key_length}, default n_embd / n_head)
 * @param valueDim      per-head width of values ({@code attention.value_length}; equal to headDim in every file
 *                      {@link #read} accepts, as llama.cpp requires for these architectures)
 * @param ropeDim       leading dims of each head that rope rotates ({@code rope.dimension_count}; equal to headDim
 *                      except for phi3, whose partial rotary leaves the rest of each head as it is)
 * @param ropeFreqScale positions are multiplied by this (linear rope scaling: 1 / factor)
 * @param neoxRope      whether rope rotates the pairs (i, i + ropeDim/2) rather than (2i, 2i + 1): the architecture's
 *                      own mode, or a Hugging Face directory's llama weights as stored ({@link GgufFile#rotateHalfQk})
 * @param variant       what differs from the plain Llama layout
 */
public record ModelConfig(Architecture arch, String name, int embd, int layers, int heads, int kvHeads,
                          int headDim, int valueDim, int ffn, int vocab, int contextLength, float ropeTheta,
                          int ropeDim, float ropeFreqScale, float rmsEps, boolean neoxRope, Variant variant) {

    /**
     * The hyperparameters beyond the Llama layout (Gemma 3, Phi-3); the other architectures have
     * {@link #plain the defaults}, under which the forward pass is the Llama one.
     *
     * @param embdScale       token embeddings are multiplied by this (Gemma: sqrt(n_embd), as a float)
     * @param attnScale       the attention scale: 1 / sqrt(head_dim), except Gemma 3 27B (1 / sqrt(n_embd / n_head))
     * @param scaleQuery      whether attnScale multiplies the roped queries (Gemma 3, Phi-3) rather than the q.k
     *                        scores (Llama, Qwen): the same value, rounded where llama.cpp rounds it
     * @param slidingWindow   positions a sliding-window layer attends to, its own included (0 = none)
     * @param slidingLayers   per layer, whether it is a sliding-window layer ({@code null} when slidingWindow is 0)
     * @param ropeThetaSwa    rope base of sliding-window layers, whose rope is never scaled ({@code rope.freq_base_swa})
     * @param ropeAttnFactor  rope's magnitude: cos and sin are multiplied by it ({@code rope.scaling.attn_factor})
     * @param ropeOrigContext context length the model was trained for before rope scaling
     *                        ({@code rope.scaling.original_context_length}); LongRoPE factors are chosen against it
     * @param finalSoftcap    logits become {@code cap * tanh(logits / cap)} ({@code final_logit_softcapping}; 0 = none)
     */
    public record Variant(float embdScale, float attnScale, boolean scaleQuery, int slidingWindow,
                          boolean[] slidingLayers, float ropeThetaSwa, float ropeAttnFactor, int ropeOrigContext,
                          float finalSoftcap) {

        /** The Llama layout's values for a head size and training context. */
        public static Variant plain(int headDim, int contextLength) {
            return new Variant(1f, (float) (1.0 / Math.sqrt(headDim)), false, 0, null, 10000f, 1f, contextLength, 0f);
        }

        /** Whether layer {@code l} attends through the sliding window. */
        public boolean sliding(int l) {
            return slidingLayers != null && slidingLayers[l];
        }
    }

    /** A Llama-layout configuration ({@link Variant#plain}). */
    public ModelConfig(Architecture arch, String name, int embd, int layers, int heads, int kvHeads, int headDim,
                       int valueDim, int ffn, int vocab, int contextLength, float ropeTheta, int ropeDim,
                       float ropeFreqScale, float rmsEps) {
        this(arch, name, embd, layers, heads, kvHeads, headDim, valueDim, ffn, vocab, contextLength, ropeTheta,
                ropeDim, ropeFreqScale, rmsEps, arch.neoxRope, Variant.plain(headDim, contextLength));
    }

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
                    + "' (supported: llama, qwen2, qwen3, gemma3, phi3)");
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
        if (ropeDim != headDim && arch != Architecture.PHI3) {
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
            // llama.cpp's converter labels Phi-3's LongRoPE so; the factors are tensors and the positions are scaled
            // only by a rope.scaling.factor, which those files do not have
            case "longrope" -> {
                if (arch != Architecture.PHI3) {
                    throw new MetagenException(where + ": rope scaling type 'longrope' is supported for phi3 only");
                }
                if (f.has(p + "rope.scaling.factor")) {
                    float factor = f.getFloat(p + "rope.scaling.factor", 1f);
                    if (!(factor > 0)) {
                        throw new MetagenException(where + ": rope.scaling.factor must be > 0, got " + factor);
                    }
                    freqScale = 1f / factor;
                }
            }
            default -> throw new MetagenException(where + ": unsupported rope scaling type '" + scaling
                    + "' (supported: none, linear, longrope for phi3, and llama3 factors in rope_freqs.weight)");
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
        Variant variant = variant(f, arch, p, embd, layers, heads, headDim, ctx);
        return new ModelConfig(arch, name, embd, layers, heads, kvHeads, headDim, valueDim, ffn, vocab, ctx,
                theta, ropeDim, freqScale, eps, arch.neoxRope || f.rotateHalfQk(), variant);
    }

    /** The keys llama.cpp's {@code llama_model_gemma3} and {@code llama_model_phi3} read beyond the common ones. */
    private static Variant variant(GgufFile f, Architecture arch, String p, int embd, int layers, int heads,
                                   int headDim, int ctx) {
        Variant plain = Variant.plain(headDim, ctx);
        // llama.cpp multiplies rope's cos and sin by this for every architecture (cparams.yarn_attn_factor)
        float attnFactor = f.getFloat(p + "rope.scaling.attn_factor", 1f);
        if (!(attnFactor > 0) || Float.isInfinite(attnFactor)) {
            throw f.invalid("metadata " + p + "rope.scaling.attn_factor must be a positive finite number, got "
                    + attnFactor);
        }
        int origContext = f.getInt(p + "rope.scaling.original_context_length", ctx);
        if (origContext <= 0) {
            throw f.invalid("metadata " + p + "rope.scaling.original_context_length must be > 0, got " + origContext);
        }
        return switch (arch) {
            case LLAMA, QWEN2, QWEN3 -> new Variant(1f, plain.attnScale(), false, 0, null, plain.ropeThetaSwa(),
                    attnFactor, origContext, 0f);
            case PHI3 -> {
                if (heads * headDim != embd) {
                    throw f.invalid("metadata " + p + "attention.head_count " + heads + " x head size " + headDim
                            + " differs from " + p + "embedding_length " + embd + " (phi3 projects n_embd to n_embd)");
                }
                // llama.cpp reads phi3's attention.sliding_window and then disables it (swa_type none): every layer
                // attends to the whole context, so this engine does the same
                yield new Variant(1f, 1f / (float) Math.sqrt((float) headDim), true, 0, null, plain.ropeThetaSwa(),
                        attnFactor, origContext, 0f);
            }
            case GEMMA3 -> {
                // gemma_pytorch's query_pre_attn_scalar, as llama.cpp derives it: the 62-layer 27B model scales by
                // n_embd / n_head, every other size by the head size
                float attnScale = layers == 62 ? 1f / (float) Math.sqrt((float) (embd / heads))
                        : 1f / (float) Math.sqrt((float) headDim);
                int window = f.getInt(p + "attention.sliding_window", 0);
                if (window < 0) {
                    throw f.invalid("metadata " + p + "attention.sliding_window must be >= 0, got " + window);
                }
                boolean[] sliding = window > 0 ? slidingPattern(f, p + "attention.sliding_window_pattern", layers)
                        : null;
                float thetaSwa = f.getFloat(p + "rope.freq_base_swa", 10000f);
                if (!(thetaSwa > 0) || Float.isInfinite(thetaSwa)) {
                    throw f.invalid("metadata " + p + "rope.freq_base_swa must be a positive finite number, got "
                            + thetaSwa);
                }
                float cap = f.getFloat(p + "final_logit_softcapping", 0f);
                if (!(cap >= 0) || Float.isInfinite(cap)) {
                    throw f.invalid("metadata " + p + "final_logit_softcapping must be a finite number >= 0, got " + cap);
                }
                for (String k : new String[] {"attention.key_length_swa", "attention.value_length_swa",
                        "rope.dimension_count_swa"}) {
                    if (f.has(p + k)) {
                        throw f.invalid("metadata " + p + k + ": separate head sizes for sliding-window layers are"
                                + " not supported");
                    }
                }
                yield new Variant((float) Math.sqrt((float) embd), attnScale, true, window, sliding, thetaSwa,
                        attnFactor, origContext, cap);
            }
        };
    }

    /**
     * Which layers use the sliding window, as llama.cpp's {@code load_swa_pattern} reads it: a bool per layer, or a
     * period n (default 6) in which every n-th layer is global and the others slide (n = 0: all slide).
     */
    private static boolean[] slidingPattern(GgufFile f, String key, int layers) {
        boolean[] sliding = new boolean[layers];
        dev.metagen.engine.gguf.GgufValue v = f.get(key);
        if (v != null && v.value() instanceof boolean[] flags) {
            if (flags.length != layers) {
                throw f.invalid("metadata " + key + " has " + flags.length + " entries for " + layers + " layers");
            }
            return flags.clone();
        }
        int n = f.getInt(key, 6);
        if (n < 0) {
            throw f.invalid("metadata " + key + " must be >= 0, got " + n);
        }
        for (int il = 0; il < layers; il++) {
            sliding[il] = n == 0 || il % n < n - 1;
        }
        return sliding;
    }

    private static int positive(GgufFile f, String key, int v) {
        if (v <= 0) {
            throw f.invalid("metadata " + key + " must be > 0, got " + v);
        }
        return v;
    }
}
