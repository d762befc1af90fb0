package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernels;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Hugging Face model directory ({@code config.json}, {@code *.safetensors} with an optional
 * {@code model.safetensors.index.json}, {@code tokenizer.json}, {@code tokenizer_config.json},
 * {@code generation_config.json}) read as the model description a GGUF of it gives: the metadata and tensor names
 * llama.cpp's {@code convert_hf_to_gguf.py} writes, the weights memory-mapped from the safetensors files as stored
 * (F32, F16, BF16; no copy), 1-D tensors as F32 (as the converter writes them).
 *
 * <p>Llama-family Q/K rows stay in Hugging Face's rotate-half order ({@link GgufFile#rotateHalfQk}); {@link #permute}
 * gives the rows llama.cpp's converter writes. Gemma 3's RMSNorm weights get the converter's + 1 (small F32 copies);
 * Phi-3's fused {@code qkv_proj} and {@code gate_up_proj} are mapped as stored, its LongRoPE factor lists become the
 * {@code rope_factors_long} / {@code rope_factors_short} tensors.
 */
public final class HfModel {
    /** The Hugging Face architectures read, and the GGUF architecture each becomes (as in the converter). */
    static final Map<String, String> ARCHITECTURES = Map.of(
            "LlamaForCausalLM", "llama", "LLaMAForCausalLM", "llama", "MistralForCausalLM", "llama",
            "Qwen2ForCausalLM", "qwen2", "Qwen3ForCausalLM", "qwen3", "Gemma3ForCausalLM", "gemma3",
            "Phi3ForCausalLM", "phi3");

    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d{1,9})\\.(.+)");
    static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
            Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("self_attn.q_proj.bias", "attn_q.bias"),
            Map.entry("self_attn.k_proj.bias", "attn_k.bias"),
            Map.entry("self_attn.v_proj.bias", "attn_v.bias"),
            Map.entry("self_attn.o_proj.bias", "attn_output.bias"),
            Map.entry("self_attn.q_norm.weight", "attn_q_norm.weight"),
            Map.entry("self_attn.k_norm.weight", "attn_k_norm.weight"),
            Map.entry("post_attention_layernorm.weight", "ffn_norm.weight"),
            Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
            Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"));
    /** Gemma 3's layer tensors: sandwich norms around attention and the feed-forward network, QK norms. */
    static final Map<String, String> GEMMA3_LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
            Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("self_attn.q_norm.weight", "attn_q_norm.weight"),
            Map.entry("self_attn.k_norm.weight", "attn_k_norm.weight"),
            Map.entry("post_attention_layernorm.weight", "post_attention_norm.weight"),
            Map.entry("pre_feedforward_layernorm.weight", "ffn_norm.weight"),
            Map.entry("post_feedforward_layernorm.weight", "post_ffw_norm.weight"),
            Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
            Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"));
    /** Phi-3's layer tensors: fused QKV (separate Q/K/V also load in llama.cpp) and fused gate-up as ffn_up. */
    static final Map<String, String> PHI3_LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.qkv_proj.weight", "attn_qkv.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
            Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("post_attention_layernorm.weight", "ffn_norm.weight"),
            Map.entry("mlp.gate_up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"));

    /** The transformers layer tensor names of GGUF architecture {@code arch} and the GGUF name of each. */
    static Map<String, String> layerNames(String arch) {
        return switch (arch) {
            case "gemma3" -> GEMMA3_LAYER_NAMES;
            case "phi3" -> PHI3_LAYER_NAMES;
            default -> LAYER_NAMES;
        };
    }

    private final Path dir;
    private final GgufFile file;
    private final Map<String, Integer> permuteHeads;

    private HfModel(Path dir, GgufFile file, Map<String, Integer> permuteHeads) {
        this.dir = dir;
        this.file = file;
        this.permuteHeads = permuteHeads;
    }

    /** {@code path} as a model description: a GGUF file, or a Hugging Face directory ({@link #open}). */
    public static GgufFile openModel(Path path) {
        return Files.isDirectory(path) ? open(path).file() : GgufFile.open(path);
    }

    /** Reads directory {@code dir}; the caller closes {@link #file()}. */
    public static HfModel open(Path dir) {
        Arena arena = Arena.ofShared();
        try {
            return read(dir, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path directory() {
        return dir;
    }

    /** The description, Q/K rows as stored. */
    public GgufFile file() {
        return file;
    }

    /**
     * The head count by which llama.cpp's converter permutes a tensor's rows ({@code LlamaModel.permute}), or 0 for
     * a tensor it writes as stored.
     */
    public int permuteHeads(String tensor) {
        return permuteHeads.getOrDefault(tensor, 0);
    }

    /**
     * Row {@code r} of the converted tensor is row {@code permute(r, rows, heads)} of the stored one: within each head
     * of {@code rows / heads} rows, the pairs (i, i + d/2) become (2i, 2i + 1).
     */
    public static int permute(int r, int rows, int heads) {
        int d = rows / heads;
        int head = r / d;
        int j = r % d;
        return head * d + (j % 2) * (d / 2) + j / 2;
    }

    private static HfModel read(Path dir, Arena arena) {
        if (!Files.isDirectory(dir)) {
            throw new MetagenException("model directory not found: " + dir);
        }
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new MetagenException(dir + ": no config.json (a model directory holds config.json, *.safetensors"
                    + " and tokenizer.json)");
        }
        JsonNode config = HfJson.read(configFile);
        if (config.has("text_config") && config.get("text_config").isObject()) {
            // the converter reads a multimodal config's text model at the root
            com.fasterxml.jackson.databind.node.ObjectNode merged = config.deepCopy();
            config.get("text_config").fields().forEachRemaining(e -> merged.set(e.getKey(), e.getValue()));
            config = merged;
        }
        String hfArch = config.path("architectures").path(0).asText("");
        if (hfArch.equals("Gemma3ForConditionalGeneration")) {
            throw HfJson.bad(configFile, "unsupported architecture 'Gemma3ForConditionalGeneration' (Gemma 3 with a"
                    + " vision tower); the text-only Gemma3ForCausalLM layout (gemma-3-270m, gemma-3-1b) is read");
        }
        String arch = ARCHITECTURES.get(hfArch);
        if (arch == null) {
            throw HfJson.bad(configFile, "unsupported architecture '" + (hfArch.isEmpty()
                    ? config.path("model_type").asText("none") : hfArch) + "' (supported: "
                    + String.join(", ", new TreeSet<>(ARCHITECTURES.keySet())) + ")");
        }
        boolean gemma3 = arch.equals("gemma3");
        boolean phi3 = arch.equals("phi3");
        if (gemma3) {
            config = gemma3Defaults(config);
        }
        Hyper h = Hyper.of(configFile, config);
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("general.architecture", GgufValue.of(arch));
        md.put("general.type", GgufValue.of("model"));
        String nameOrPath = config.path("_name_or_path").asText("").strip();
        String name = nameOrPath.substring(nameOrPath.lastIndexOf('/') + 1);
        md.put("general.name", GgufValue.of(!name.isEmpty() ? name
                : String.valueOf(dir.toAbsolutePath().normalize().getFileName())));
        String p = arch + ".";
        if (arch.equals("llama")) {
            md.put(p + "vocab_size", GgufValue.ofUInt32(h.vocab));
        }
        md.put(p + "block_count", GgufValue.ofUInt32(h.layers));
        if (h.ctx > 0) {
            md.put(p + "context_length", GgufValue.ofUInt32(h.ctx));
        }
        md.put(p + "embedding_length", GgufValue.ofUInt32(h.embd));
        md.put(p + "feed_forward_length", GgufValue.ofUInt32(h.ffn));
        md.put(p + "attention.head_count", GgufValue.ofUInt32(h.heads));
        md.put(p + "attention.head_count_kv", GgufValue.ofUInt32(h.kvHeads));
        // Phi3MiniModel writes its own keys (no rope.scaling.type); the others go through TextModel's rope scaling
        float[] ropeFactors = phi3 ? null : rope(configFile, config, h, p, md);
        md.put(p + "rope.freq_base", GgufValue.ofFloat32(h.theta));
        if (config.path("rms_norm_eps").isNumber()) {
            md.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32((float) config.get("rms_norm_eps").asDouble()));
        }
        if (config.path("head_dim").isIntegralNumber() && !phi3) {
            md.put(p + "attention.key_length", GgufValue.ofUInt32(h.headDim));
            md.put(p + "attention.value_length", GgufValue.ofUInt32(h.headDim));
        }
        if (arch.equals("llama")) {
            md.put(p + "rope.dimension_count", GgufValue.ofUInt32(h.headDim));
        }
        if (gemma3) {
            gemma3Keys(configFile, config, h, p, md);
        }
        float[][] longRope = phi3 ? phi3Keys(configFile, config, h, p, md) : null;

        List<Safetensors> shards = shards(dir, arena);
        Map<String, MemorySegment> data = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, GgmlType> types = new LinkedHashMap<>();
        Map<String, Integer> permute = new LinkedHashMap<>();
        Map<String, String> hfNames = new LinkedHashMap<>();
        boolean llama = arch.equals("llama");
        for (Safetensors st : shards) {
            for (Safetensors.Entry e : st.entries().values()) {
                if (e.name().endsWith(".rotary_emb.inv_freq") || e.name().endsWith(".attention.masked_bias")) {
                    continue; // the converter skips these buffers
                }
                String gguf = ggufName(st.path(), e.name(), h.layers, arch);
                if (hfNames.put(gguf, e.name()) != null) {
                    throw Safetensors.bad(st.path(), "tensor " + e.name() + " appears twice");
                }
                long[] expected = expectedShape(gguf, h, phi3);
                if (expected != null && !Arrays.equals(expected, e.shape())) {
                    throw Safetensors.bad(st.path(), "tensor " + e.name() + " has shape " + Arrays.toString(e.shape())
                            + " but config.json gives " + Arrays.toString(expected));
                }
                GgmlType type = switch (e.dtype()) {
                    case "F32" -> GgmlType.F32;
                    case "F16" -> GgmlType.F16;
                    case "BF16" -> GgmlType.BF16;
                    default -> throw Safetensors.bad(st.path(), "tensor " + e.name() + " has dtype " + e.dtype()
                            + " (F32, F16 and BF16 are read)");
                };
                long[] shape = new long[e.shape().length];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = e.shape()[shape.length - 1 - i];
                }
                if (shape.length == 0) {
                    throw Safetensors.bad(st.path(), "tensor " + e.name() + " is a scalar");
                }
                MemorySegment seg = e.data();
                if (gemma3 && e.name().endsWith("norm.weight")) {
                    // Gemma3RMSNorm multiplies by (1 + weight): the converter adds the 1 to the stored weight
                    if (shape.length != 1) {
                        throw Safetensors.bad(st.path(), "tensor " + e.name() + " has shape " + Arrays.toString(e.shape())
                                + " (a norm weight is a vector)");
                    }
                    seg = plusOne(seg, type, (int) shape[0], arena);
                    type = GgmlType.F32;
                } else if (shape.length == 1 && type != GgmlType.F32) {
                    seg = toF32(seg, type, (int) shape[0], arena);
                    type = GgmlType.F32;
                }
                if (gemma3 && gguf.equals("token_embd.weight") && e.name().endsWith("embed_tokens.weight")) {
                    // the converter drops embedding rows beyond the tokenizer's tokens (Gemma3Model.modify_tensors)
                    long real = gemma3TokenCount(dir);
                    if (real > 0 && real < shape[1]) {
                        seg = seg.asSlice(0, real * type.byteSize(shape[0]));
                        shape[1] = real;
                    }
                }
                if (llama && (gguf.endsWith(".attn_q.weight") || gguf.endsWith(".attn_q.bias"))) {
                    permute.put(gguf, h.heads);
                } else if (llama && (gguf.endsWith(".attn_k.weight") || gguf.endsWith(".attn_k.bias"))) {
                    permute.put(gguf, h.kvHeads);
                }
                data.put(gguf, seg);
                shapes.put(gguf, shape);
                types.put(gguf, type);
            }
        }
        if (!data.containsKey("token_embd.weight") && data.containsKey("output.weight") && h.tied) {
            // a tied checkpoint that stores the shared matrix once, as lm_head (safetensors keeps one of the aliases)
            data.put("token_embd.weight", data.remove("output.weight"));
            shapes.put("token_embd.weight", shapes.remove("output.weight"));
            types.put("token_embd.weight", types.remove("output.weight"));
        }
        if (ropeFactors != null) {
            putVector(data, shapes, types, "rope_freqs.weight", ropeFactors, arena);
        }
        if (longRope != null) {
            putVector(data, shapes, types, "rope_factors_long.weight", longRope[0], arena);
            putVector(data, shapes, types, "rope_factors_short.weight", longRope[1], arena);
        }
        md.put("general.file_type", GgufValue.ofUInt32(fileType(types)));
        md.put("general.quantization_version", GgufValue.ofUInt32(2));
        sampling(dir, md);
        boolean spm = Files.isRegularFile(dir.resolve("tokenizer.model"));
        // which vocabulary path the converter takes: SentencePiece-style for llama; for gemma3 when tokenizer.model
        // exists; for phi3 unless tokenizer_config.json names GPT2Tokenizer (Phi-4); byte-level BPE otherwise
        boolean gpt2Only = switch (arch) {
            case "llama" -> false;
            case "gemma3" -> !spm;
            case "phi3" -> {
                JsonNode tcfg = HfJson.readOptional(dir.resolve("tokenizer_config.json"));
                yield tcfg != null && "GPT2Tokenizer".equals(tcfg.path("tokenizer_class").asText());
            }
            default -> true;
        };
        md.putAll(HfVocab.read(dir, config, gpt2Only));
        if (gemma3 && spm) {
            md.put("tokenizer.ggml.add_space_prefix", GgufValue.ofBool(false)); // Gemma3Model.set_vocab
        }
        GgufFile f = GgufFile.assembled(dir, arena, md, data, shapes, types, llama && !permute.isEmpty());
        return new HfModel(dir, f, Collections.unmodifiableMap(permute));
    }

    /** The defaults {@code Gemma3Model.set_gguf_parameters} uses for keys a Gemma 3 config.json leaves out. */
    private static JsonNode gemma3Defaults(JsonNode config) {
        com.fasterxml.jackson.databind.node.ObjectNode c = config.deepCopy();
        putIfAbsent(c, "max_position_embeddings", 131072);
        putIfAbsent(c, "num_attention_heads", 8);
        putIfAbsent(c, "num_key_value_heads", 4);
        putIfAbsent(c, "head_dim", 256);
        if (!c.path("rms_norm_eps").isNumber()) {
            c.put("rms_norm_eps", 1e-6);
        }
        if (!ropeParams(c).path("rope_theta").isNumber() && !c.path("rope_theta").isNumber()) {
            c.put("rope_theta", 1_000_000.0); // the global layers' base
        }
        return c;
    }

    private static void putIfAbsent(com.fasterxml.jackson.databind.node.ObjectNode c, String key, int value) {
        if (c.get(key) == null || c.get(key).isNull()) {
            c.put(key, value);
        }
    }

    /**
     * The gemma3 keys beyond the common ones, as {@code Gemma3Model} and {@code TextModel} write them: the local
     * rope base, the sliding window, the final logit softcap. Configurations the converted file would run
     * differently from the checkpoint (llama.cpp fixes what the converter does not record) are refused.
     */
    private static void gemma3Keys(Path file, JsonNode c, Hyper h, String p, Map<String, GgufValue> md) {
        if (c.hasNonNull("attn_logit_softcapping")) {
            throw HfJson.bad(file, "attn_logit_softcapping is " + c.get("attn_logit_softcapping")
                    + " (Gemma 3 has none; llama.cpp's converter refuses it)");
        }
        if (c.path("use_bidirectional_attention").asBoolean(false)) {
            throw HfJson.bad(file, "use_bidirectional_attention is true (an embedding model, not the causal Gemma3ForCausalLM)");
        }
        // llama.cpp scales queries by 1/sqrt(head size), or 1/sqrt(n_embd / n_head) for the 62-layer 27B model;
        // the converter does not write query_pre_attn_scalar, so another value would be silently lost
        int scalar = h.layers == 62 ? h.embd / h.heads : h.headDim;
        JsonNode qs = c.get("query_pre_attn_scalar");
        if (qs != null && !qs.isNull() && !(qs.isNumber() && qs.asDouble() == scalar)) {
            throw HfJson.bad(file, "query_pre_attn_scalar " + qs + " is not " + scalar + ", the query scale llama.cpp"
                    + " gives a gemma3 model of this shape (" + (h.layers == 62 ? "n_embd / n_head" : "head_dim") + ")");
        }
        JsonNode cap = c.get("final_logit_softcapping");
        if (cap != null && !cap.isNull()) {
            if (!cap.isNumber() || !(cap.asDouble() >= 0) || Double.isInfinite(cap.asDouble())) {
                throw HfJson.bad(file, "final_logit_softcapping must be a number >= 0 or null, got " + cap);
            }
            if (cap.asDouble() != 0) {
                md.put(p + "final_logit_softcapping", GgufValue.ofFloat32((float) cap.asDouble()));
            }
        }
        JsonNode local = localRopeTheta(c);
        if (local != null) {
            if (!local.isNumber() || !(local.asDouble() > 0) || Double.isInfinite(local.asDouble())) {
                throw HfJson.bad(file, "the sliding-window layers' rope_theta must be a positive number, got " + local);
            }
            md.put(p + "rope.freq_base_swa", GgufValue.ofFloat32((float) local.asDouble()));
        }
        // the converter writes the window unless sliding_window_pattern is 1; llama.cpp then slides five layers of
        // every six (its default pattern, which the converter does not record)
        JsonNode pattern = c.get("sliding_window_pattern");
        boolean patternOne = pattern != null && pattern.isNumber() && pattern.asDouble() == 1;
        int window = 0;
        if (!patternOne) {
            JsonNode w = c.get("sliding_window");
            if (w == null || !w.isIntegralNumber() || !w.canConvertToInt() || w.asInt() < 0) {
                throw HfJson.bad(file, "sliding_window must be an integer >= 0 for gemma3, got " + w);
            }
            window = w.asInt();
            md.put(p + "attention.sliding_window", GgufValue.ofUInt32(window));
            if (window > 0 && pattern != null && !pattern.isNull() && !(pattern.isNumber() && pattern.asDouble() == 6)) {
                throw HfJson.bad(file, "sliding_window_pattern " + pattern + ": llama.cpp runs gemma3 with every sixth"
                        + " layer global (pattern 6), which is all the converted file can say");
            }
        }
        JsonNode types = c.get("layer_types");
        if (types != null && !types.isNull()) {
            if (!types.isArray() || types.size() != h.layers) {
                throw HfJson.bad(file, "layer_types must be a list of " + h.layers + " entries, got " + types);
            }
            for (int il = 0; il < h.layers; il++) {
                String t = types.get(il).asText("");
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw HfJson.bad(file, "layer_types[" + il + "] is '" + t
                            + "' (sliding_attention or full_attention)");
                }
                boolean sliding = window > 0 && il % 6 < 5;
                if (t.equals("sliding_attention") != sliding) {
                    throw HfJson.bad(file, "layer_types[" + il + "] is " + t + " but llama.cpp runs that layer with "
                            + (sliding ? "sliding_attention" : "full_attention") + (window > 0
                            ? " (every sixth layer global)" : " (no sliding window)")
                            + ", and the converted file cannot say otherwise");
                }
            }
        }
    }

    /** TextModel's local rope base: rope_parameters.sliding_attention, else the first of its config.json keys. */
    private static JsonNode localRopeTheta(JsonNode c) {
        JsonNode rp = rawRope(c);
        if (rp.has("full_attention") || rp.has("sliding_attention")) {
            JsonNode t = rp.path("sliding_attention").get("rope_theta");
            return t == null || t.isNull() ? null : t;
        }
        for (String k : new String[]{"local_rope_theta", "rope_local_theta", "rope_theta_local", "swa_rope_theta",
                "rope_local_base_freq"}) {
            if (c.hasNonNull(k)) {
                return c.get(k);
            }
        }
        return null;
    }

    /** rope_parameters or rope_scaling as they are (no per-layer-type selection), or a missing node. */
    private static JsonNode rawRope(JsonNode c) {
        JsonNode rp = c.get("rope_parameters");
        if (rp == null || rp.isNull()) {
            rp = c.get("rope_scaling");
        }
        return rp != null && rp.isObject() ? rp : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    /** A rope_parameters value, else the config.json key of the same name the converter mirrors into it. */
    private static JsonNode ropeOrRoot(JsonNode c, String key) {
        JsonNode rp = rawRope(c);
        JsonNode v = rp.get(key);
        if ((v == null || v.isNull()) && !rp.has("full_attention") && !rp.has("sliding_attention")) {
            v = c.get(key);
        }
        return v == null || v.isNull() ? null : v;
    }

    /**
     * The phi3 keys {@code Phi3MiniModel.set_gguf_parameters} writes (partial rotary, original context, sliding
     * window) and its LongRoPE factors {long, short} ({@code generate_extra_tensors}), or null when it has none.
     */
    private static float[][] phi3Keys(Path file, JsonNode c, Hyper h, String p, Map<String, GgufValue> md) {
        if (c.path("head_dim").isIntegralNumber() && (long) h.headDim * h.heads != h.embd) {
            throw HfJson.bad(file, "head_dim " + h.headDim + " x num_attention_heads " + h.heads
                    + " is not hidden_size " + h.embd + " (phi3 projects n_embd to n_embd)");
        }
        if (!c.path("rms_norm_eps").isNumber()) {
            throw HfJson.bad(file, "rms_norm_eps is missing");
        }
        if (h.ctx <= 0) {
            throw HfJson.bad(file, "max_position_embeddings is missing");
        }
        if (ropeOrRoot(c, "rope_theta") == null) {
            throw HfJson.bad(file, "rope_theta is missing");
        }
        JsonNode orig = ropeOrRoot(c, "original_max_position_embeddings");
        if (orig == null || !orig.isIntegralNumber() || !orig.canConvertToInt() || orig.asInt() <= 0) {
            throw HfJson.bad(file, "original_max_position_embeddings must be a positive integer for phi3, got " + orig);
        }
        JsonNode rotNode = ropeOrRoot(c, "partial_rotary_factor");
        double rot = 1.0;
        if (rotNode != null) {
            if (!rotNode.isNumber() || !(rotNode.asDouble() > 0) || rotNode.asDouble() > 1) {
                throw HfJson.bad(file, "partial_rotary_factor must be a number in (0, 1], got " + rotNode);
            }
            rot = rotNode.asDouble();
        }
        int ropeDim = (int) (rot * h.embd) / h.heads; // int(rot_pct * n_embd) // n_head
        if (ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > h.headDim) {
            throw HfJson.bad(file, "partial_rotary_factor " + rot + " gives " + ropeDim
                    + " rotary dims per head (must be even and in [2, " + h.headDim + "])");
        }
        JsonNode sw = c.get("sliding_window");
        if (sw != null && !sw.isNull() && (!sw.isIntegralNumber() || !sw.canConvertToInt() || sw.asInt() < 0)) {
            throw HfJson.bad(file, "sliding_window must be an integer >= 0 or null, got " + sw);
        }
        md.put(p + "rope.scaling.original_context_length", GgufValue.ofUInt32(orig.asInt()));
        md.put(p + "rope.dimension_count", GgufValue.ofUInt32(ropeDim));
        // 0 tells Phi-4 from the other phi3 models; llama.cpp reads it and then runs every layer globally
        md.put(p + "attention.sliding_window", GgufValue.ofUInt32(sw == null || sw.isNull() ? 0 : sw.asInt()));

        JsonNode longF = ropeOrRoot(c, "long_factor");
        if (longF == null || (longF.isArray() && longF.isEmpty())) {
            return null;
        }
        JsonNode typeNode = ropeOrRoot(c, "rope_type");
        if (typeNode == null) {
            typeNode = ropeOrRoot(c, "type");
        }
        String type = typeNode == null ? "" : typeNode.asText("").toLowerCase(Locale.ROOT);
        double scale = (double) h.ctx / orig.asInt();
        double attn = switch (type) {
            case "su", "longrope" -> scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(orig.asInt())) : 1.0;
            case "yarn" -> scale > 1 ? 0.1 * Math.log(scale) + 1.0 : 1.0;
            case "" -> throw HfJson.bad(file, "rope_scaling has long_factor but no type");
            default -> throw HfJson.bad(file, "unsupported rope scaling type '" + type
                    + "' for phi3 (supported: longrope, su, yarn)");
        };
        md.put(p + "rope.scaling.attn_factor", GgufValue.ofFloat32((float) attn));
        float[] lf = factors(file, "long_factor", longF, ropeDim / 2);
        float[] sf = factors(file, "short_factor", ropeOrRoot(c, "short_factor"), ropeDim / 2);
        return new float[][]{lf, sf};
    }

    private static float[] factors(Path file, String key, JsonNode v, int n) {
        if (v == null || !v.isArray() || v.size() != n) {
            throw HfJson.bad(file, "rope_scaling " + key + " must be a list of " + n + " numbers (rotary dims / 2), got "
                    + (v == null ? "none" : v.isArray() ? v.size() + " entries" : v.getNodeType().toString()));
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            JsonNode x = v.get(i);
            if (!x.isNumber() || !Double.isFinite(x.asDouble()) || x.asDouble() <= 0) {
                throw HfJson.bad(file, "rope_scaling " + key + "[" + i + "] must be a positive number, got " + x);
            }
            out[i] = (float) x.asDouble();
        }
        return out;
    }

    /**
     * Gemma3Model's row count for the embedding when there is no tokenizer.model: tokenizer.json's vocabulary plus
     * its added tokens (0 when there is a tokenizer.model, whose vocabulary the converter pads to vocab_size).
     */
    private static long gemma3TokenCount(Path dir) {
        if (Files.isRegularFile(dir.resolve("tokenizer.model")) || !Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return 0;
        }
        JsonNode tok = HfJson.read(dir.resolve("tokenizer.json"));
        return tok.path("model").path("vocab").size() + tok.path("added_tokens").size();
    }

    private static void putVector(Map<String, MemorySegment> data, Map<String, long[]> shapes, Map<String, GgmlType> types,
                                  String name, float[] v, Arena arena) {
        MemorySegment seg = arena.allocate((long) v.length * 4, 4);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, v.length);
        data.put(name, seg);
        shapes.put(name, new long[]{v.length});
        types.put(name, GgmlType.F32);
    }

    /** llama_ftype of the weights as stored: the type of most 2-D weights (as the converter's --outtype auto). */
    private static int fileType(Map<String, GgmlType> types) {
        Map<GgmlType, Integer> n = new java.util.EnumMap<>(GgmlType.class);
        types.values().forEach(t -> n.merge(t, 1, Integer::sum));
        GgmlType top = n.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(GgmlType.F32);
        return switch (top) {
            case F16 -> 1;
            case BF16 -> 32;
            default -> 0;
        };
    }

    /** The hyperparameters the converter reads from config.json, checked. */
    record Hyper(int vocab, int layers, int ctx, int embd, int ffn, int heads, int kvHeads, int headDim, float theta,
                 boolean tied) {
        static Hyper of(Path file, JsonNode c) {
            int embd = positive(file, c, "hidden_size");
            int layers = positive(file, c, "num_hidden_layers");
            int heads = positive(file, c, "num_attention_heads");
            int kv = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull()
                    ? positive(file, c, "num_key_value_heads") : heads;
            int ffn = positive(file, c, "intermediate_size");
            int vocab = positive(file, c, "vocab_size");
            int headDim = c.path("head_dim").isIntegralNumber() ? positive(file, c, "head_dim") : embd / heads;
            if (!c.path("head_dim").isIntegralNumber() && embd % heads != 0) {
                throw HfJson.bad(file, "num_attention_heads " + heads + " does not divide hidden_size " + embd);
            }
            if (headDim % 2 != 0) {
                throw HfJson.bad(file, "the head size " + headDim + " is odd (rope rotates pairs)");
            }
            if (heads % kv != 0) {
                throw HfJson.bad(file, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kv);
            }
            int ctx = c.path("max_position_embeddings").isIntegralNumber() ? positive(file, c, "max_position_embeddings") : 0;
            JsonNode rp = ropeParams(c);
            double theta = rp.path("rope_theta").isNumber() ? rp.get("rope_theta").asDouble()
                    : c.path("rope_theta").isNumber() ? c.get("rope_theta").asDouble() : 10000.0;
            if (!(theta > 0) || Double.isInfinite(theta)) {
                throw HfJson.bad(file, "rope_theta must be a positive number, got " + theta);
            }
            if (layers > 100_000 || (long) heads * headDim > 1 << 20 || (long) kv * headDim > 1 << 20) {
                throw HfJson.bad(file, "implausible sizes (num_hidden_layers " + layers + ", heads " + heads + " x " + headDim + ")");
            }
            boolean tied = !c.has("tie_word_embeddings") || c.get("tie_word_embeddings").asBoolean(true);
            return new Hyper(vocab, layers, ctx, embd, ffn, heads, kv, headDim, (float) theta, tied);
        }

        private static int positive(Path file, JsonNode c, String key) {
            JsonNode v = c.get(key);
            if (v == null || v.isNull()) {
                throw HfJson.bad(file, key + " is missing");
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() <= 0) {
                throw HfJson.bad(file, key + " must be a positive integer, got " + v);
            }
            return v.asInt();
        }
    }

    /** rope_parameters (newer transformers) or rope_scaling, as the converter reads them. */
    private static JsonNode ropeParams(JsonNode c) {
        JsonNode rp = c.get("rope_parameters");
        if (rp == null || rp.isNull()) {
            rp = c.get("rope_scaling");
        }
        if (rp == null || !rp.isObject()) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
        return rp.has("full_attention") ? rp.get("full_attention") : rp;
    }

    /**
     * Writes the converter's rope scaling keys: linear and yarn as {@code rope.scaling.*}, llama3 as the
     * {@code rope_freqs.weight} factors it returns (computed as {@code LlamaModel.generate_extra_tensors} does).
     */
    private static float[] rope(Path file, JsonNode c, Hyper h, String p, Map<String, GgufValue> md) {
        JsonNode rp = ropeParams(c);
        String type = rp.path("rope_type").asText(rp.path("type").asText(null));
        if (type == null) {
            return null;
        }
        JsonNode factor = rp.get("factor");
        switch (type.toLowerCase(Locale.ROOT)) {
            case "linear" -> {
                if (factor != null && factor.isNumber()) {
                    md.put(p + "rope.scaling.type", GgufValue.of("linear"));
                    md.put(p + "rope.scaling.factor", GgufValue.ofFloat32((float) factor.asDouble()));
                }
            }
            case "yarn" -> {
                if (factor != null && factor.isNumber()) {
                    md.put(p + "rope.scaling.type", GgufValue.of("yarn"));
                    md.put(p + "rope.scaling.factor", GgufValue.ofFloat32((float) factor.asDouble()));
                    JsonNode orig = rp.get("original_max_position_embeddings");
                    if (orig == null || !orig.canConvertToInt()) {
                        throw HfJson.bad(file, "yarn rope scaling without original_max_position_embeddings");
                    }
                    md.put(p + "rope.scaling.original_context_length", GgufValue.ofUInt32(orig.asInt()));
                    putFloat(md, p + "rope.scaling.yarn_ext_factor", rp.get("extrapolation_factor"));
                    putFloat(md, p + "rope.scaling.yarn_attn_factor", rp.has("attention_factor")
                            ? rp.get("attention_factor") : rp.get("attn_factor"));
                    putFloat(md, p + "rope.scaling.yarn_beta_fast", rp.get("beta_fast"));
                    putFloat(md, p + "rope.scaling.yarn_beta_slow", rp.get("beta_slow"));
                }
            }
            case "llama3" -> {
                if (!p.equals("llama.")) {
                    return null;
                }
                double base = h.theta;
                int dim = h.headDim;
                double f = rp.path("factor").asDouble(8.0);
                double low = rp.path("low_freq_factor").asDouble(1.0);
                double high = rp.path("high_freq_factor").asDouble(4.0);
                double old = rp.path("original_max_position_embeddings").asDouble(8192);
                double lowWave = old / low;
                double highWave = old / high;
                float[] out = new float[dim / 2];
                for (int i = 0; i < out.length; i++) {
                    // float32 as torch computes the frequencies, the rest in double as Python does
                    float freq = (float) (1.0 / Math.pow((float) base, (float) (2 * i) / dim));
                    double wave = 2 * Math.PI / freq;
                    if (wave < highWave) {
                        out[i] = 1f;
                    } else if (wave > lowWave) {
                        out[i] = (float) f;
                    } else {
                        double smooth = (old / wave - low) / (high - low);
                        out[i] = (float) (1 / ((1 - smooth) / f + smooth));
                    }
                }
                return out;
            }
            case "default", "none" -> { }
            case "su", "longrope" -> md.put(p + "rope.scaling.type", GgufValue.of("longrope"));
            default -> throw HfJson.bad(file, "unsupported rope scaling type '" + type + "' (supported: linear, yarn, llama3)");
        }
        return null;
    }

    private static void putFloat(Map<String, GgufValue> md, String key, JsonNode v) {
        if (v != null && v.isNumber()) {
            md.put(key, GgufValue.ofFloat32((float) v.asDouble()));
        }
    }

    /** generation_config.json's sampling defaults as the {@code general.sampling.*} keys llama.cpp's converter writes. */
    private static void sampling(Path dir, Map<String, GgufValue> md) {
        JsonNode g;
        try {
            g = HfJson.readOptional(dir.resolve("generation_config.json"));
        } catch (RuntimeException e) {
            return; // the converter ignores an unreadable generation_config.json
        }
        if (g == null) {
            return;
        }
        JsonNode seq = g.get("sequence");
        if (seq != null && seq.isTextual()) {
            md.put("general.sampling.sequence", GgufValue.of(seq.textValue()));
        }
        putInt(md, "general.sampling.top_k", g.get("top_k"));
        putFloat(md, "general.sampling.top_p", g.get("top_p"));
        putFloat(md, "general.sampling.min_p", g.get("min_p"));
        putFloat(md, "general.sampling.xtc_probability", g.get("xtc_probability"));
        putFloat(md, "general.sampling.xtc_threshold", g.get("xtc_threshold"));
        putFloat(md, "general.sampling.temp", g.get("temperature"));
        putInt(md, "general.sampling.penalty_last_n", g.get("penalty_last_n"));
        putFloat(md, "general.sampling.penalty_repeat", g.has("penalty_repeat") ? g.get("penalty_repeat")
                : g.get("repetition_penalty"));
        putInt(md, "general.sampling.mirostat", g.get("mirostat"));
        putFloat(md, "general.sampling.mirostat_tau", g.get("mirostat_tau"));
        putFloat(md, "general.sampling.mirostat_eta", g.get("mirostat_eta"));
    }

    private static void putInt(Map<String, GgufValue> md, String key, JsonNode v) {
        if (v != null && v.isIntegralNumber() && v.canConvertToInt()) {
            md.put(key, GgufValue.ofInt32(v.asInt()));
        }
    }

    /** The safetensors files: those the index names, else every {@code model*.safetensors}. */
    private static List<Safetensors> shards(Path dir, Arena arena) {
        Path indexFile = dir.resolve("model.safetensors.index.json");
        List<String> names = new ArrayList<>();
        Set<String> indexed = null;
        Map<String, String> weightMap = new LinkedHashMap<>();
        if (Files.isRegularFile(indexFile)) {
            JsonNode index = HfJson.read(indexFile);
            JsonNode wm = index.get("weight_map");
            if (wm == null || !wm.isObject()) {
                throw HfJson.bad(indexFile, "has no weight_map object");
            }
            Set<String> parts = new LinkedHashSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String part = e.getValue().asText("");
                if (!part.endsWith(".safetensors") || part.contains("/") || part.contains("\\") || part.startsWith(".")) {
                    throw HfJson.bad(indexFile, "weight_map names '" + part + "' for " + e.getKey()
                            + ", not a .safetensors file of this directory");
                }
                parts.add(part);
                weightMap.put(e.getKey(), part);
            }
            names.addAll(new TreeSet<>(parts));
            indexed = weightMap.keySet();
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                s.map(f -> f.getFileName().toString())
                        .filter(n -> n.startsWith("model") && n.endsWith(".safetensors"))
                        .sorted().forEach(names::add);
            } catch (IOException e) {
                throw new MetagenException("cannot list " + dir + ": " + MetagenException.describe(e), e);
            }
        }
        if (names.isEmpty()) {
            throw new MetagenException(dir + ": no model*.safetensors files (PyTorch .bin checkpoints are not read)");
        }
        List<Safetensors> out = new ArrayList<>();
        Set<String> found = new LinkedHashSet<>();
        for (String n : names) {
            Path f = dir.resolve(n);
            if (!Files.isRegularFile(f)) {
                throw new MetagenException(dir + ": " + n + " is missing" + (indexed != null ? " (named by "
                        + indexFile.getFileName() + ")" : ""));
            }
            Safetensors st = Safetensors.open(f, arena);
            for (String t : st.entries().keySet()) {
                if (indexed != null && !n.equals(weightMap.get(t))) {
                    throw HfJson.bad(indexFile, "tensor " + t + " is in " + n + " but the weight_map puts it in "
                            + weightMap.getOrDefault(t, "no file"));
                }
                found.add(t);
            }
            out.add(st);
        }
        if (indexed != null) {
            for (String t : indexed) {
                if (!found.contains(t)) {
                    throw HfJson.bad(indexFile, "tensor " + t + " is not in " + weightMap.get(t));
                }
            }
        }
        return out;
    }

    /** The GGUF name of Hugging Face tensor {@code name} (gguf-py's tensor_mapping for these architectures). */
    private static String ggufName(Path file, String name, int layers, String arch) {
        switch (name) {
            case "model.embed_tokens.weight" -> {
                return "token_embd.weight";
            }
            case "model.norm.weight" -> {
                return "output_norm.weight";
            }
            case "lm_head.weight" -> {
                return "output.weight";
            }
            default -> { }
        }
        Matcher m = LAYER.matcher(name);
        if (m.matches()) {
            int layer = Integer.parseInt(m.group(1));
            String mapped = layerNames(arch).get(m.group(2));
            if (layer >= layers) {
                throw Safetensors.bad(file, "tensor " + name + " belongs to layer " + layer + " but config.json's"
                        + " num_hidden_layers is " + layers);
            }
            if (mapped != null) {
                return "blk." + layer + "." + mapped;
            }
        }
        throw Safetensors.bad(file, "tensor " + name + " is not part of a " + arch + " model (cannot map it to a GGUF name)");
    }

    /** The Hugging Face (row-major) shape config.json implies for GGUF tensor {@code gguf}, or null if not fixed. */
    private static long[] expectedShape(String gguf, Hyper h, boolean phi3) {
        long q = (long) h.heads * h.headDim;
        long kv = (long) h.kvHeads * h.headDim;
        String base = gguf.startsWith("blk.") ? gguf.substring(gguf.indexOf('.', 4) + 1) : gguf;
        if (phi3 && base.equals("ffn_up.weight")) {
            return new long[]{2L * h.ffn, h.embd}; // gate rows, then up rows
        }
        return switch (base) {
            case "token_embd.weight", "output.weight" -> new long[]{h.vocab, h.embd};
            case "output_norm.weight", "attn_norm.weight", "ffn_norm.weight", "attn_output.bias",
                 "post_attention_norm.weight", "post_ffw_norm.weight" -> new long[]{h.embd};
            case "attn_qkv.weight" -> new long[]{q + 2 * kv, h.embd};
            case "attn_q.weight" -> new long[]{q, h.embd};
            case "attn_k.weight", "attn_v.weight" -> new long[]{kv, h.embd};
            case "attn_output.weight" -> new long[]{h.embd, q};
            case "attn_q.bias" -> new long[]{q};
            case "attn_k.bias", "attn_v.bias" -> new long[]{kv};
            case "attn_q_norm.weight", "attn_k_norm.weight" -> new long[]{h.headDim};
            case "ffn_gate.weight", "ffn_up.weight" -> new long[]{h.ffn, h.embd};
            case "ffn_down.weight" -> new long[]{h.embd, h.ffn};
            default -> null;
        };
    }

    /**
     * A Gemma norm weight plus one as F32, in the converter's arithmetic: BF16 is widened to F32 before the addition,
     * F16 is added in F16 (torch keeps float16 tensors as they are), F32 in F32.
     */
    private static MemorySegment plusOne(MemorySegment src, GgmlType type, int n, Arena arena) {
        float[] v = new float[n];
        TypeKernels.of(type, "norm").dequantize(src, 0, v, 0, n);
        for (int i = 0; i < n; i++) {
            v[i] += 1f;
        }
        if (type == GgmlType.F16) {
            TypeKernels.of(GgmlType.F16, "norm").dequantize(MemorySegment.ofArray(
                    TypeKernels.of(GgmlType.F16, "norm").quantize(v, 0, n)), 0, v, 0, n);
        }
        MemorySegment seg = arena.allocate((long) n * 4, 4);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
        return seg;
    }

    /** A small 1-D F16/BF16 tensor widened to F32 (norms and biases: ggml adds and multiplies them only as F32). */
    private static MemorySegment toF32(MemorySegment src, GgmlType type, int n, Arena arena) {
        float[] v = new float[n];
        TypeKernels.of(type, "vector").dequantize(src, 0, v, 0, n);
        MemorySegment seg = arena.allocate((long) n * 4, 4);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
        return seg;
    }
}
