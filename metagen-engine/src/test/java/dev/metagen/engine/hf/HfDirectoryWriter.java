package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernels;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test fixture: writes a Hugging Face model directory from an F32 GGUF (a synthesized model), the inverse of
 * llama.cpp's converter: tensors under their transformers names in row-major shapes, llama Q/K rows un-permuted,
 * Gemma 3 norm weights less the converter's + 1, Phi-3's fused tensors as stored and its LongRoPE factor tensors
 * moved into config.json's rope_scaling,
 * in F32 / F16 / BF16, split over {@code shards} safetensors files with an index, plus config.json,
 * generation_config.json, tokenizer.json (a small byte-level BPE for qwen, the GGUF's SentencePiece pieces for
 * llama) and tokenizer_config.json.
 */
public final class HfDirectoryWriter {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The chat template written to tokenizer_config.json. */
    public static final String TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
            + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

    private HfDirectoryWriter() {}

    /** Size of the byte-level vocabulary {@link #byteLevelVocab} builds (a synthesized model must have this vocab). */
    public static final int BYTE_LEVEL_VOCAB = 300;

    public static void write(Path gguf, Path dir, String hfArch, String dtype, int shards, boolean tied) throws IOException {
        Files.createDirectories(dir);
        try (GgufFile f = GgufFile.open(gguf)) {
            String arch = f.getString("general.architecture", null);
            String p = arch + ".";
            int heads = f.getInt(p + "attention.head_count", 0);
            int kvHeads = f.getInt(p + "attention.head_count_kv", 0);
            int headDim = f.getInt(p + "attention.key_length", 0);
            int embd = f.getInt(p + "embedding_length", 0);
            int vocab = Math.toIntExact(f.tensorInfo("token_embd.weight").shape()[1]);
            ObjectNode config = JSON.createObjectNode();
            config.putArray("architectures").add(hfArch);
            config.put("model_type", arch.equals("gemma3") ? "gemma3_text" : hfArch.replace("ForCausalLM", "").toLowerCase());
            // general.name comes from here, so a directory named after its preset keeps llama.cpp's name-based
            // vocabulary rules (a name containing "phi3" needs Phi-3's special tokens) as they were for the GGUF
            config.put("_name_or_path", "synth/" + f.getString("general.name", "model"));
            config.put("hidden_size", embd);
            config.put("intermediate_size", f.getInt(p + "feed_forward_length", 0));
            config.put("num_hidden_layers", f.getInt(p + "block_count", 0));
            config.put("num_attention_heads", heads);
            config.put("num_key_value_heads", kvHeads);
            if (headDim != embd / heads || arch.equals("qwen3") || arch.equals("gemma3")) {
                config.put("head_dim", headDim);
            }
            config.put("max_position_embeddings", f.getInt(p + "context_length", 0));
            config.put("rms_norm_eps", f.getFloat(p + "attention.layer_norm_rms_epsilon", 0));
            config.put("rope_theta", f.getFloat(p + "rope.freq_base", 10000));
            config.put("vocab_size", vocab);
            config.put("tie_word_embeddings", tied);
            config.put("torch_dtype", dtype.equals("BF16") ? "bfloat16" : dtype.equals("F16") ? "float16" : "float32");
            if (arch.equals("gemma3")) {
                gemma3Config(f, config, headDim);
            } else if (arch.equals("phi3")) {
                phi3Config(f, config, heads, embd);
            }
            if (f.tensorInfo("rope_freqs.weight") != null) {
                // the synthesizer's llama3 factors (factor 32, low 1, high 4, the tiny preset's 256 positions)
                ObjectNode rs = config.putObject("rope_scaling");
                rs.put("rope_type", "llama3").put("factor", 32.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                        .put("original_max_position_embeddings", 256);
            }
            config.put("bos_token_id", 1);
            config.put("eos_token_id", 2);
            Files.writeString(dir.resolve("config.json"), config.toPrettyString());

            ObjectNode gen = JSON.createObjectNode();
            gen.put("bos_token_id", 1);
            gen.put("eos_token_id", 2);
            gen.put("do_sample", true);
            gen.put("temperature", 0.7);
            gen.put("top_p", 0.8);
            gen.put("top_k", 20);
            gen.put("repetition_penalty", 1.05);
            Files.writeString(dir.resolve("generation_config.json"), gen.toPrettyString());

            if (arch.equals("llama")) {
                sentencePieceTokenizer(f, dir);
            } else {
                // Phi-4-mini's tokenizer_config.json names GPT2Tokenizer, which sends the converter down the BPE path
                byteLevelTokenizer(dir, vocab, arch.equals("phi3") ? "GPT2Tokenizer" : "Qwen2Tokenizer");
            }

            List<Map.Entry<String, byte[]>> tensors = new ArrayList<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (GgufTensorInfo t : f.tensors().values()) {
                if (t.name().equals("rope_freqs.weight") || t.name().startsWith("rope_factors_")) {
                    continue; // computed from / listed in config.json's rope_scaling
                }
                String name = hfName(t.name(), arch);
                if (tied && name.equals("lm_head.weight")) {
                    continue;
                }
                long[] s = t.shape();
                long[] shape = new long[s.length];
                for (int i = 0; i < s.length; i++) {
                    shape[i] = s[s.length - 1 - i];
                }
                int cols = (int) s[0];
                int rows = (int) (t.elementCount() / cols);
                float[] v = new float[(int) t.elementCount()];
                TypeKernels.of(t.type(), t.name()).dequantize(f.tensorData(t), 0, v, 0, v.length);
                int permuteHeads = !arch.equals("llama") ? 0 : t.name().endsWith("attn_q.weight") ? heads
                        : t.name().endsWith("attn_k.weight") ? kvHeads : 0;
                if (permuteHeads > 0) {
                    float[] hf = new float[v.length];
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(v, r * cols, hf, HfModel.permute(r, rows, permuteHeads) * cols, cols);
                    }
                    v = hf;
                }
                if (arch.equals("gemma3") && t.name().endsWith("norm.weight")) {
                    for (int i = 0; i < v.length; i++) {
                        v[i] -= 1f; // Gemma3RMSNorm stores weight - 1 and multiplies by (1 + weight)
                    }
                }
                byte[] bytes = switch (dtype) {
                    case "F32" -> {
                        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                        b.asFloatBuffer().put(v);
                        yield b.array();
                    }
                    // ggml's F16/BF16 rounding, the same as torch's
                    default -> TypeKernels.of(GgmlType.valueOf(dtype), name).quantize(v, 0, v.length);
                };
                tensors.add(Map.entry(name, bytes));
                shapes.put(name, shape);
            }
            ObjectNode weightMap = JSON.createObjectNode();
            int per = (tensors.size() + shards - 1) / shards;
            for (int s = 0; s < shards; s++) {
                String file = shards == 1 ? "model.safetensors"
                        : String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
                List<Map.Entry<String, byte[]>> part = tensors.subList(s * per, Math.min(tensors.size(), (s + 1) * per));
                writeSafetensors(dir.resolve(file), part, shapes, dtype);
                part.forEach(e -> weightMap.put(e.getKey(), file));
            }
            if (shards > 1) {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", tensors.stream().mapToLong(e -> e.getValue().length).sum());
                index.set("weight_map", weightMap);
                Files.writeString(dir.resolve("model.safetensors.index.json"), index.toPrettyString());
            }
        }
    }

    public static void writeSafetensors(Path file, List<Map.Entry<String, byte[]>> tensors, Map<String, long[]> shapes,
                                        String dtype) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long off = 0;
        for (Map.Entry<String, byte[]> e : tensors) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            ArrayNode sh = t.putArray("shape");
            for (long d : shapes.get(e.getKey())) {
                sh.add(d);
            }
            t.putArray("data_offsets").add(off).add(off + e.getValue().length);
            off += e.getValue().length;
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(h);
        for (int i = h.length; i < padded; i++) {
            out.write(' ');
        }
        for (Map.Entry<String, byte[]> e : tensors) {
            out.write(e.getValue());
        }
        Files.write(file, out.toByteArray());
    }

    /** Gemma 3's config.json keys: head size, query scale, window and layer types, rope bases, softcaps. */
    private static void gemma3Config(GgufFile f, ObjectNode config, int headDim) {
        String p = "gemma3.";
        int layers = f.getInt(p + "block_count", 0);
        int window = f.getInt(p + "attention.sliding_window", 0);
        config.put("query_pre_attn_scalar", headDim);
        config.put("hidden_activation", "gelu_pytorch_tanh");
        config.put("sliding_window", window);
        ArrayNode types = config.putArray("layer_types");
        for (int il = 0; il < layers; il++) {
            types.add(window > 0 && il % 6 < 5 ? "sliding_attention" : "full_attention");
        }
        config.put("rope_local_base_freq", f.getFloat(p + "rope.freq_base_swa", 10000f));
        if (f.has(p + "final_logit_softcapping")) {
            config.put("final_logit_softcapping", f.getFloat(p + "final_logit_softcapping", 0));
        } else {
            config.putNull("final_logit_softcapping");
        }
        config.putNull("attn_logit_softcapping");
        if ("linear".equals(f.getString(p + "rope.scaling.type", null))) {
            config.putObject("rope_scaling").put("rope_type", "linear")
                    .put("factor", f.getFloat(p + "rope.scaling.factor", 1f));
        } else {
            config.putNull("rope_scaling");
        }
    }

    /** Phi-3's config.json keys: partial rotary factor, original context, LongRoPE factor lists. */
    private static void phi3Config(GgufFile f, ObjectNode config, int heads, int embd) {
        String p = "phi3.";
        int ropeDim = f.getInt(p + "rope.dimension_count", embd / heads);
        config.put("partial_rotary_factor", (double) ropeDim * heads / embd);
        config.put("original_max_position_embeddings", f.getInt(p + "rope.scaling.original_context_length",
                f.getInt(p + "context_length", 0)));
        int window = f.getInt(p + "attention.sliding_window", 0);
        if (window > 0) {
            config.put("sliding_window", window);
        } else {
            config.putNull("sliding_window");
        }
        if (f.tensorInfo("rope_factors_long.weight") != null) {
            ObjectNode rs = config.putObject("rope_scaling");
            rs.put("type", "longrope");
            for (String which : new String[]{"long", "short"}) {
                GgufTensorInfo t = f.tensorInfo("rope_factors_" + which + ".weight");
                float[] v = new float[(int) t.elementCount()];
                TypeKernels.of(t.type(), t.name()).dequantize(f.tensorData(t), 0, v, 0, v.length);
                ArrayNode a = rs.putArray(which + "_factor");
                for (float x : v) {
                    a.add(x);
                }
            }
        } else {
            config.putNull("rope_scaling");
        }
    }

    /** The transformers name of a GGUF tensor of architecture {@code arch}. */
    static String hfName(String gguf, String arch) {
        switch (gguf) {
            case "token_embd.weight" -> {
                return "model.embed_tokens.weight";
            }
            case "output_norm.weight" -> {
                return "model.norm.weight";
            }
            case "output.weight" -> {
                return "lm_head.weight";
            }
            default -> { }
        }
        String[] p = gguf.split("\\.", 3);
        for (Map.Entry<String, String> e : HfModel.layerNames(arch).entrySet()) {
            if (e.getValue().equals(p[2])) {
                return "model.layers." + p[1] + "." + e.getKey();
            }
        }
        throw new IllegalArgumentException(gguf);
    }

    /** GPT-2's byte-to-unicode table (printable bytes stand for themselves, the others from U+0100 on). */
    public static String[] byteChars() {
        String[] out = new String[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = String.valueOf((char) (printable ? b : 256 + n++));
        }
        return out;
    }

    /** The vocabulary: the 256 byte characters, merged pieces, then three added special tokens. */
    static List<String> byteLevelVocab(List<String[]> merges) {
        List<String> vocab = new ArrayList<>(List.of(byteChars()));
        String[][] pairs = {{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"Ġ", "a"}, {"e", "r"}, {"o", "n"},
                {"Ġ", "s"}, {"r", "e"}, {"a", "t"}, {"e", "n"}, {"Ġ", "w"}, {"i", "s"}, {"o", "r"}, {"Ġ", "o"},
                {"Ġ", "c"}, {"e", "s"}, {"Ġ", "b"}, {"in", "g"}, {"Ġ", "f"}, {"a", "n"}, {"e", "d"}, {"Ġ", "m"},
                {"Ġ", "p"}, {"o", "u"}, {"a", "r"}, {"Ġ", "d"}, {"l", "l"}, {"Ġ", "h"}, {"Ġ", "i"}, {"i", "t"},
                {"Ġ", "l"}, {"Ġ", "n"}, {"l", "e"}, {"a", "l"}, {"Ġa", "n"}, {"Ġan", "d"}, {"Ġ", "1"}, {"1", "2"},
                {"Ġ", "Ġ"}, {"ĠĠ", "ĠĠ"}};
        for (String[] m : pairs) {
            merges.add(m);
            vocab.add(m[0] + m[1]);
        }
        return vocab;
    }

    private static void byteLevelTokenizer(Path dir, int vocabSize, String tokenizerClass) throws IOException {
        List<String[]> merges = new ArrayList<>();
        List<String> vocab = byteLevelVocab(merges);
        String[] specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
        if (vocab.size() + specials.length != vocabSize) {
            throw new IllegalArgumentException("the synthesized model needs vocab " + (vocab.size() + specials.length));
        }
        ObjectNode tok = JSON.createObjectNode();
        tok.put("version", "1.0");
        ArrayNode added = tok.putArray("added_tokens");
        for (int i = 0; i < specials.length; i++) {
            ObjectNode a = added.addObject();
            a.put("id", vocab.size() + i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        tok.putNull("normalizer");
        ObjectNode pre = tok.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        split.put("behavior", "Isolated").put("invert", false);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        tok.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        tok.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        ObjectNode model = tok.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < vocab.size(); i++) {
            v.put(vocab.get(i), i);
        }
        ArrayNode m = model.putArray("merges");
        for (String[] pair : merges) {
            m.addArray().add(pair[0]).add(pair[1]);
        }
        Files.writeString(dir.resolve("tokenizer.json"), tok.toPrettyString());
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("add_prefix_space", false);
        cfg.put("bos_token", (String) null);
        cfg.put("eos_token", "<|im_end|>");
        cfg.put("pad_token", "<|endoftext|>");
        cfg.put("chat_template", TEMPLATE);
        cfg.put("tokenizer_class", tokenizerClass);
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toPrettyString());
    }

    private static void sentencePieceTokenizer(GgufFile f, Path dir) throws IOException {
        String[] tokens = f.getStringArray("tokenizer.ggml.tokens");
        ObjectNode tok = JSON.createObjectNode();
        tok.put("version", "1.0");
        ArrayNode added = tok.putArray("added_tokens");
        for (int i = 0; i < 3; i++) {
            added.addObject().put("id", i).put("content", tokens[i]).put("normalized", true).put("special", true);
        }
        ObjectNode norm = tok.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", "▁");
        tok.putNull("pre_tokenizer");
        ObjectNode pp = tok.putObject("post_processor");
        pp.put("type", "TemplateProcessing");
        ArrayNode single = pp.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", tokens[1]).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ObjectNode dec = tok.putObject("decoder");
        dec.put("type", "Sequence");
        dec.putArray("decoders").addObject().put("type", "ByteFallback");
        ObjectNode model = tok.putObject("model");
        model.put("type", "BPE").put("unk_token", "<unk>").put("byte_fallback", true).put("fuse_unk", true);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < tokens.length; i++) {
            v.put(tokens[i], i);
        }
        model.putArray("merges");
        Files.writeString(dir.resolve("tokenizer.json"), tok.toPrettyString());
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("add_bos_token", true);
        cfg.put("add_eos_token", false);
        cfg.put("bos_token", tokens[1]);
        cfg.put("eos_token", tokens[2]);
        cfg.put("unk_token", tokens[0]);
        cfg.put("tokenizer_class", "LlamaTokenizer");
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toPrettyString());
    }

    static void rewrite(Path file, java.util.function.UnaryOperator<String> edit) {
        try {
            Files.writeString(file, edit.apply(Files.readString(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
