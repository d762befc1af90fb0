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
 * gives the rows llama.cpp's converter writes.
 */
public final class HfModel {
    /** The Hugging Face architectures read, and the GGUF architecture each becomes (as in the converter). */
    static final Map<String, String> ARCHITECTURES = Map.of(
            "LlamaForCausalLM", "llama", "LLaMAForCausalLM", "llama", "MistralForCausalLM", "llama",
            "Qwen2ForCausalLM", "qwen2", "Qwen3ForCausalLM", "qwen3");

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
        String arch = ARCHITECTURES.get(hfArch);
        if (arch == null) {
            throw HfJson.bad(configFile, "unsupported architecture '" + (hfArch.isEmpty()
                    ? config.path("model_type").asText("none") : hfArch) + "' (supported: "
                    + String.join(", ", new TreeSet<>(ARCHITECTURES.keySet())) + ")");
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
        float[] ropeFactors = rope(configFile, config, h, p, md);
        md.put(p + "rope.freq_base", GgufValue.ofFloat32(h.theta));
        if (config.path("rms_norm_eps").isNumber()) {
            md.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32((float) config.get("rms_norm_eps").asDouble()));
        }
        if (config.path("head_dim").isIntegralNumber()) {
            md.put(p + "attention.key_length", GgufValue.ofUInt32(h.headDim));
            md.put(p + "attention.value_length", GgufValue.ofUInt32(h.headDim));
        }
        if (arch.equals("llama")) {
            md.put(p + "rope.dimension_count", GgufValue.ofUInt32(h.headDim));
        }

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
                long[] expected = expectedShape(gguf, h);
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
                if (shape.length == 1 && type != GgmlType.F32) {
                    seg = toF32(seg, type, (int) shape[0], arena);
                    type = GgmlType.F32;
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
            MemorySegment seg = arena.allocate((long) ropeFactors.length * 4, 4);
            MemorySegment.copy(ropeFactors, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                    ropeFactors.length);
            data.put("rope_freqs.weight", seg);
            shapes.put("rope_freqs.weight", new long[]{ropeFactors.length});
            types.put("rope_freqs.weight", GgmlType.F32);
        }
        md.put("general.file_type", GgufValue.ofUInt32(fileType(types)));
        md.put("general.quantization_version", GgufValue.ofUInt32(2));
        sampling(dir, md);
        md.putAll(HfVocab.read(dir, config, !llama));
        GgufFile f = GgufFile.assembled(dir, arena, md, data, shapes, types, llama && !permute.isEmpty());
        return new HfModel(dir, f, Collections.unmodifiableMap(permute));
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
            String mapped = LAYER_NAMES.get(m.group(2));
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
    private static long[] expectedShape(String gguf, Hyper h) {
        long q = (long) h.heads * h.headDim;
        long kv = (long) h.kvHeads * h.headDim;
        String base = gguf.startsWith("blk.") ? gguf.substring(gguf.indexOf('.', 4) + 1) : gguf;
        return switch (base) {
            case "token_embd.weight", "output.weight" -> new long[]{h.vocab, h.embd};
            case "output_norm.weight", "attn_norm.weight", "ffn_norm.weight", "attn_output.bias" -> new long[]{h.embd};
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

    /** A small 1-D F16/BF16 tensor widened to F32 (norms and biases: ggml adds and multiplies them only as F32). */
    private static MemorySegment toF32(MemorySegment src, GgmlType type, int n, Arena arena) {
        float[] v = new float[n];
        TypeKernels.of(type, "vector").dequantize(src, 0, v, 0, n);
        MemorySegment seg = arena.allocate((long) n * 4, 4);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
        return seg;
    }
}
