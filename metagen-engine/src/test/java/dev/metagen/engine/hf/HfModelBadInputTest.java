package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hugging Face directories are untrusted input, like GGUF files: each kind of damage is refused with one line that
 * names the file and the problem, before anything is sized by the damaged value.
 */
class HfModelBadInputTest {
    @TempDir
    static Path tmp;

    static Path good;
    static Path gemma;
    static Path phi;

    @BeforeAll
    static void writeGood() throws IOException {
        Path src = tmp.resolve("src.gguf");
        ModelSynthesizer.builder().preset("tiny-qwen2").type("F32").seed(3).vocab(HfDirectoryWriter.BYTE_LEVEL_VOCAB)
                .tiedEmbeddings(true).build().write(src);
        good = tmp.resolve("good");
        HfDirectoryWriter.write(src, good, "Qwen2ForCausalLM", "BF16", 2, true);
        src = tmp.resolve("gemma.gguf");
        ModelSynthesizer.builder().preset("tiny-gemma3").type("F32").seed(3).vocab(HfDirectoryWriter.BYTE_LEVEL_VOCAB)
                .build().write(src);
        gemma = tmp.resolve("gemma");
        HfDirectoryWriter.write(src, gemma, "Gemma3ForCausalLM", "BF16", 1, true);
        src = tmp.resolve("phi.gguf");
        ModelSynthesizer.builder().preset("tiny-phi3").type("F32").seed(3).vocab(HfDirectoryWriter.BYTE_LEVEL_VOCAB)
                .build().write(src);
        phi = tmp.resolve("phi");
        HfDirectoryWriter.write(src, phi, "Phi3ForCausalLM", "F32", 1, false);
    }

    @Test
    void theGoodDirectoryLoadsAndReadsAsTheConvertersMetadata() {
        try (TransformerModel m = TransformerModel.load(good, new ModelOptions(1, 64))) {
            assertEquals("qwen2", m.info().architecture());
            GgufFile f = m.file();
            assertTrue(f.isAssembled());
            assertEquals(0.8f, f.getFloat("general.sampling.top_p", 0), 1e-6);
            assertEquals(1.05f, f.getFloat("general.sampling.penalty_repeat", 0), 1e-6);
            assertEquals(32, f.getInt("general.file_type", -1), "BF16 weights");
            assertEquals("F32", f.tensorInfo("blk.0.attn_q.bias").typeName(), "1-D tensors widened to F32");
            assertEquals("BF16", f.tensorInfo("blk.0.attn_q.weight").typeName(), "weights as stored");
            assertEquals(299, m.tokenizer().special().eos(), "EOS <|im_end|> from tokenizer_config.json");
            assertTrue(m.tokenizer().special().endOfGeneration().contains(299));
            dev.metagen.engine.chat.ChatTemplate chat = dev.metagen.engine.chat.ChatTemplate.forModel(m);
            assertFalse(chat.isFallback());
            assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                    chat.render(List.of(dev.metagen.core.ChatMessage.user("hi")), true));
            assertArrayEquals(new int[]{298, 43, 299}, m.tokenizer().encode("<|im_start|>+<|im_end|>", false, true));
        }
    }

    @Test
    void missingConfigUnknownArchitectureAndBadHyperparameters() throws IOException {
        Path d = copy("noconfig");
        Files.delete(d.resolve("config.json"));
        assertOneLine(d, "no config.json");

        d = copy("arch");
        HfDirectoryWriter.rewrite(d.resolve("config.json"), s -> s.replace("Qwen2ForCausalLM", "GPT2LMHeadModel"));
        assertOneLine(d, "config.json: unsupported architecture 'GPT2LMHeadModel' (supported: Gemma3ForCausalLM,"
                + " LLaMAForCausalLM, LlamaForCausalLM, MistralForCausalLM, Phi3ForCausalLM, Qwen2ForCausalLM,"
                + " Qwen3ForCausalLM)");

        d = copy("heads");
        HfDirectoryWriter.rewrite(d.resolve("config.json"), s -> s.replace("\"num_attention_heads\" : 4", "\"num_attention_heads\" : -4"));
        assertOneLine(d, "config.json: num_attention_heads must be a positive integer, got -4");

        d = copy("json");
        Files.writeString(d.resolve("config.json"), "{\"architectures\": [\"Qwen2ForCausalLM\"\n,,}");
        assertOneLine(d, "config.json: is not valid JSON");

        d = copy("notokenizer");
        Files.delete(d.resolve("tokenizer.json"));
        assertOneLine(d, "no tokenizer.json");

        d = copy("noweights");
        try (Stream<Path> s = Files.list(d)) {
            for (Path p : s.filter(p -> p.toString().contains("safetensors")).toList()) {
                Files.delete(p);
            }
        }
        assertOneLine(d, "no model*.safetensors files");
    }

    @Test
    void shapeMismatchAndUnknownTensors() throws IOException {
        Path d = copy("shape");
        HfDirectoryWriter.rewrite(d.resolve("config.json"), s -> s.replace("\"intermediate_size\" : 128", "\"intermediate_size\" : 96"));
        assertOneLine(d, "mlp.gate_proj.weight has shape [128, 64] but config.json gives [96, 64]");

        d = copy("extra");
        writeSingle(d, "model.layers.0.mlp.experts.0.weight", "F32", new long[]{4}, 16);
        assertOneLine(d, "tensor model.layers.0.mlp.experts.0.weight is not part of a qwen2 model");

        d = copy("dtype");
        for (String shard : new String[]{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
            Path p = d.resolve(shard);
            String all = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
            // same length, so the header length stays right: an integer dtype of BF16's width
            all = all.replace("\"model.norm.weight\":{\"dtype\":\"BF16\"", "\"model.norm.weight\":{\"dtype\": \"I16\"");
            Files.write(p, all.getBytes(StandardCharsets.ISO_8859_1));
        }
        assertOneLine(d, "tensor model.norm.weight has dtype I16 (F32, F16 and BF16 are read)");
    }

    @Test
    void damagedSafetensorsHeaders() throws IOException {
        Path d = copy("truncated");
        Path shard = d.resolve("model-00001-of-00002.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(100); // cut inside the JSON header
        }
        assertOneLine(d, "model-00001-of-00002.safetensors: header length");

        d = copy("bomb");
        shard = d.resolve("model-00001-of-00002.safetensors");
        byte[] b = Files.readAllBytes(shard);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 62);
        Files.write(shard, b);
        assertOneLine(d, "header length 4611686018427387904 does not fit in the file's");

        d = copy("short");
        Files.write(d.resolve("model-00002-of-00002.safetensors"), new byte[]{1, 2, 3});
        assertOneLine(d, "model-00002-of-00002.safetensors: file is too short to be safetensors (3 bytes)");

        d = copy("data");
        shard = d.resolve("model-00002-of-00002.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(f.length() - 10); // the last tensor's bytes run past the end
        }
        assertOneLine(d, "are outside the");

        d = copy("garbage");
        shard = d.resolve("model-00001-of-00002.safetensors");
        b = Files.readAllBytes(shard);
        b[8] = '[';
        Files.write(shard, b);
        assertOneLine(d, "header is not valid JSON");
    }

    @Test
    void damagedIndex() throws IOException {
        Path d = copy("missingshard");
        Files.delete(d.resolve("model-00002-of-00002.safetensors"));
        assertOneLine(d, "model-00002-of-00002.safetensors is missing (named by model.safetensors.index.json)");

        d = copy("traversal");
        HfDirectoryWriter.rewrite(d.resolve("model.safetensors.index.json"),
                s -> s.replaceFirst("model-00001-of-00002.safetensors", "../outside.safetensors"));
        assertOneLine(d, "model.safetensors.index.json: weight_map names '../outside.safetensors'");

        d = copy("moved");
        HfDirectoryWriter.rewrite(d.resolve("model.safetensors.index.json"),
                s -> s.replaceFirst("\"model-00001-of-00002.safetensors\"", "\"model-00002-of-00002.safetensors\""));
        assertOneLine(d, "but the weight_map puts it in");
    }

    /** Gemma 3 and Phi-3 configurations whose converted file would run differently from the checkpoint are refused. */
    @Test
    void gemma3AndPhi3VariantsAreRefusedNamingTheKey() throws IOException {
        Path d = copy(gemma, "vision");
        config(d, c -> c.putArray("architectures").add("Gemma3ForConditionalGeneration"));
        assertOneLine(d, "config.json: unsupported architecture 'Gemma3ForConditionalGeneration' (Gemma 3 with a vision tower)");

        d = copy(gemma, "scalar");
        config(d, c -> c.put("query_pre_attn_scalar", 64));
        assertOneLine(d, "config.json: query_pre_attn_scalar 64 is not 32, the query scale llama.cpp gives");

        d = copy(gemma, "attncap");
        config(d, c -> c.put("attn_logit_softcapping", 50.0));
        assertOneLine(d, "config.json: attn_logit_softcapping is 50.0");

        d = copy(gemma, "layertypes");
        config(d, c -> ((ArrayNode) c.get("layer_types")).set(5, "sliding_attention"));
        assertOneLine(d, "config.json: layer_types[5] is sliding_attention but llama.cpp runs that layer with full_attention");

        d = copy(gemma, "pattern");
        config(d, c -> c.put("sliding_window_pattern", 4));
        assertOneLine(d, "config.json: sliding_window_pattern 4: llama.cpp runs gemma3 with every sixth layer global");

        d = copy(gemma, "bidirectional");
        config(d, c -> c.put("use_bidirectional_attention", true));
        assertOneLine(d, "config.json: use_bidirectional_attention is true");

        d = copy(gemma, "window");
        config(d, c -> c.remove("sliding_window"));
        assertOneLine(d, "config.json: sliding_window must be an integer >= 0 for gemma3, got null");

        d = copy(phi, "factors");
        config(d, c -> ((ArrayNode) c.get("rope_scaling").get("long_factor")).remove(0));
        assertOneLine(d, "config.json: rope_scaling long_factor must be a list of 6 numbers (rotary dims / 2), got 5 entries");

        d = copy(phi, "orig");
        config(d, c -> c.remove("original_max_position_embeddings"));
        assertOneLine(d, "config.json: original_max_position_embeddings must be a positive integer for phi3, got null");

        d = copy(phi, "ropetype");
        config(d, c -> ((ObjectNode) c.get("rope_scaling")).put("type", "dynamic"));
        assertOneLine(d, "config.json: unsupported rope scaling type 'dynamic' for phi3 (supported: longrope, su, yarn)");

        d = copy(phi, "rotary");
        config(d, c -> c.put("partial_rotary_factor", 0.7)); // int(0.7 * 64) // 4 = 11
        assertOneLine(d, "config.json: partial_rotary_factor 0.7 gives 11 rotary dims per head");

        d = copy(phi, "headdim");
        config(d, c -> c.put("head_dim", 32));
        assertOneLine(d, "config.json: head_dim 32 x num_attention_heads 4 is not hidden_size 64");

        d = copy(phi, "gateup");
        config(d, c -> c.put("intermediate_size", 96));
        assertOneLine(d, "mlp.gate_up_proj.weight has shape [256, 64] but config.json gives [192, 64]");
    }

    /**
     * Gemma 3's config.json as transformers 5 writes it (rope_parameters per layer type) and with the keys the
     * converter defaults: the same metadata as Gemma3Model gives.
     */
    @Test
    void gemma3RopeParametersAndDefaultsReadAsTheConverterReadsThem() throws IOException {
        Path d = copy(gemma, "ropeparams");
        config(d, c -> {
            c.remove("rope_theta");
            c.remove("rope_local_base_freq");
            c.remove("rope_scaling");
            ObjectNode rp = c.putObject("rope_parameters");
            rp.putObject("full_attention").put("rope_type", "linear").put("factor", 8.0).put("rope_theta", 500000.0);
            rp.putObject("sliding_attention").put("rope_type", "default").put("rope_theta", 20000.0);
            c.put("final_logit_softcapping", 30.0);
        });
        try (GgufFile f = HfModel.open(d).file()) {
            assertEquals(500000f, f.getFloat("gemma3.rope.freq_base", 0));
            assertEquals(20000f, f.getFloat("gemma3.rope.freq_base_swa", 0));
            assertEquals("linear", f.getString("gemma3.rope.scaling.type", null));
            assertEquals(8f, f.getFloat("gemma3.rope.scaling.factor", 0));
            assertEquals(30f, f.getFloat("gemma3.final_logit_softcapping", 0));
        }

        d = copy(gemma, "defaults");
        config(d, c -> {
            c.remove("rope_theta");
            c.remove("rope_local_base_freq");
            c.remove("max_position_embeddings");
            c.remove("rms_norm_eps");
            c.put("sliding_window_pattern", 1);
            ArrayNode types = c.putArray("layer_types");
            for (int i = 0; i < 6; i++) {
                types.add("full_attention");
            }
        });
        try (GgufFile f = HfModel.open(d).file()) {
            assertEquals(1_000_000f, f.getFloat("gemma3.rope.freq_base", 0));
            assertFalse(f.has("gemma3.rope.freq_base_swa"), "no local base in config.json: none written");
            assertEquals(131072, f.getInt("gemma3.context_length", 0));
            assertEquals(1e-6f, f.getFloat("gemma3.attention.layer_norm_rms_epsilon", 0));
            assertFalse(f.has("gemma3.attention.sliding_window"), "sliding_window_pattern 1: every layer global");
        }
        try (TransformerModel m = TransformerModel.load(d, new ModelOptions(1, 64))) {
            assertFalse(m.config().variant().sliding(0));
        }
    }

    private static void config(Path d, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode c = (ObjectNode) HfDirectoryWriter.JSON.readTree(Files.readString(d.resolve("config.json")));
        edit.accept(c);
        Files.writeString(d.resolve("config.json"), c.toPrettyString());
    }

    /** Adds a third shard holding one tensor of zeros, listed in the index. */
    private static void writeSingle(Path d, String name, String dtype, long[] shape, int bytes) throws IOException {
        byte[] data = new byte[bytes];
        Path extra = d.resolve("model-00003-of-00003.safetensors");
        HfDirectoryWriter.writeSafetensors(extra, List.of(Map.entry(name, data)), Map.of(name, shape), dtype);
        HfDirectoryWriter.rewrite(d.resolve("model.safetensors.index.json"), s -> s.replace("\"weight_map\" : {",
                "\"weight_map\" : {\n    \"" + name + "\" : \"model-00003-of-00003.safetensors\","));
    }

    private static void assertOneLine(Path dir, String fragment) {
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(dir, new ModelOptions(1, 64)));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertTrue(m.contains(fragment), m);
        assertTrue(m.contains(dir.toString()), "names the directory or file: " + m);
        MetagenException c = assertThrows(MetagenException.class,
                () -> HfConverter.convert(dir, dir.resolveSibling(dir.getFileName() + ".gguf"), "f16", false));
        assertTrue(c.getMessage().contains(fragment), "convert gives the same error: " + c.getMessage());
    }

    private static Path copy(String name) throws IOException {
        return copy(good, name);
    }

    private static Path copy(Path from, String name) throws IOException {
        Path d = tmp.resolve(name);
        try (Stream<Path> s = Files.list(from)) {
            Files.createDirectories(d);
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(p, d.resolve(p.getFileName()));
            }
        }
        return d;
    }
}
