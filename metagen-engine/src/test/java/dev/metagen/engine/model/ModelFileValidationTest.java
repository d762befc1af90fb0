package dev.metagen.engine.model;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernels;
import dev.metagen.engine.tokenizer.GgufTokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model files that parse as GGUF but contradict themselves: each corrupted copy of a real or synthesized model is
 * refused at load with a one-line message naming the file, the key or tensor and the problem; the real files in
 * shared/models and shared/tokenizers still load.
 */
class ModelFileValidationTest {
    private static final ModelOptions OPTIONS = new ModelOptions(1, 64);

    @TempDir
    static Path dir;
    static Path qwen2;
    private static int counter;

    @BeforeAll
    static void synthesize() {
        qwen2 = dir.resolve("tiny-qwen2.gguf");
        ModelSynthesizer.builder().preset("tiny-qwen2").seed(5).build().write(qwen2);
    }

    // ---- the real files ---------------------------------------------------------------------------------------

    @Test
    void realModelLoadsTokenizesAndRuns() {
        try (TransformerModel m = TransformerModel.load(SharedData.stories260k(), OPTIONS); ModelState s = m.newState()) {
            int[] ids = m.tokenizer().encode("Once upon a time", true, false);
            assertEquals(1, ids[0]);
            assertEquals(512, m.forward(s, ids).values().length);
        }
        try (TransformerModel m = TransformerModel.load(qwen2, OPTIONS); ModelState s = m.newState()) {
            assertEquals(512, m.forward(s, 1, 2, 3).values().length);
        }
    }

    @Test
    void everySharedVocabularyPassesValidationAndTheSupportedOnesBuild() throws IOException {
        List<Path> vocabs;
        try (Stream<Path> s = Files.list(SharedData.tokenizers())) {
            vocabs = s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
        assertTrue(vocabs.size() >= 12, "vocabularies found: " + vocabs);
        for (Path p : vocabs) {
            try (GgufFile f = GgufFile.open(p)) {
                int n = GgufTokenizers.validate(f);
                assertEquals(f.getStringArray("tokenizer.ggml.tokens").length, n, p.toString());
                if (p.getFileName().toString().contains("bert")) {
                    // WordPiece is not implemented: refused when built, as before, not as a corrupt file
                    MetagenException e = assertThrows(MetagenException.class, () -> GgufTokenizers.fromGguf(f));
                    assertTrue(e.getMessage().contains("unsupported tokenizer model tokenizer.ggml.model = 'bert'"),
                            e.getMessage());
                } else {
                    Tokenizer t = GgufTokenizers.fromGguf(f);
                    assertTrue(t.encode("Hello world", false, false).length > 0, p.toString());
                }
            }
        }
    }

    // ---- corrupted copies of stories260K (llama, SentencePiece vocabulary, 512 tokens, n_embd 64, 5 layers) -----

    static Stream<Arguments> corruptStories() {
        return Stream.of(
                // special token ids
                bad("eos id = n_vocab", d -> d.meta.put("tokenizer.ggml.eos_token_id", GgufValue.ofUInt32(512)),
                        "tokenizer.ggml.eos_token_id = 512 is not a token id: the vocabulary has 512 tokens (ids 0 to 511)"),
                bad("bos id far out", d -> d.meta.put("tokenizer.ggml.bos_token_id", GgufValue.ofUInt32(100_000)),
                        "tokenizer.ggml.bos_token_id = 100000 is not a token id"),
                bad("negative unknown id", d -> d.meta.put("tokenizer.ggml.unknown_token_id", GgufValue.ofInt32(-5)),
                        "tokenizer.ggml.unknown_token_id = -5 is not a token id"),
                bad("padding id out of range", d -> d.meta.put("tokenizer.ggml.padding_token_id", GgufValue.ofUInt32(600)),
                        "tokenizer.ggml.padding_token_id = 600 is not a token id"),
                bad("eot id out of range", d -> d.meta.put("tokenizer.ggml.eot_token_id", GgufValue.ofUInt32(513)),
                        "tokenizer.ggml.eot_token_id = 513 is not a token id"),
                bad("separator id out of range", d -> d.meta.put("tokenizer.ggml.seperator_token_id", GgufValue.ofUInt32(4096)),
                        "tokenizer.ggml.seperator_token_id = 4096 is not a token id"),
                bad("fim id out of range", d -> d.meta.put("tokenizer.ggml.fim_mid_token_id", GgufValue.ofUInt32(9999)),
                        "tokenizer.ggml.fim_mid_token_id = 9999 is not a token id"),
                bad("id as string", d -> d.meta.put("tokenizer.ggml.eos_token_id", GgufValue.of("2")),
                        "tokenizer.ggml.eos_token_id is not an integer"),
                // vocabulary arrays
                bad("scores shorter", d -> d.meta.put("tokenizer.ggml.scores", GgufValue.ofArray(new float[511])),
                        "tokenizer.ggml.scores has 511 entries for 512 tokens"),
                bad("scores longer", d -> d.meta.put("tokenizer.ggml.scores", GgufValue.ofArray(new float[513])),
                        "tokenizer.ggml.scores has 513 entries for 512 tokens"),
                bad("token types longer", d -> d.meta.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(ones(600))),
                        "tokenizer.ggml.token_type has 600 entries for 512 tokens"),
                bad("token types shorter", d -> d.meta.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(ones(3))),
                        "tokenizer.ggml.token_type has 3 entries for 512 tokens"),
                bad("empty vocabulary", d -> d.meta.put("tokenizer.ggml.tokens", GgufValue.ofArray(new String[0])),
                        "tokenizer.ggml.tokens is empty"),
                bad("duplicate token", d -> d.setToken(300, d.tokens()[301]),
                        "tokenizer.ggml.tokens has the token '" + storiesToken(301) + "' twice, at ids 300 and 301"),
                bad("byte token that spells no byte", d -> d.setToken(3 + 0x41, "A"),
                        "tokenizer.ggml.tokens[68] = 'A' has token type BYTE (tokenizer.ggml.token_type 6) but is not of the form <0xHH>"),
                bad("vocabulary larger than the embedding", d -> d.appendToken("▁extra"),
                        "tensor token_embd.weight has 512 rows (n_vocab) but tokenizer.ggml.tokens has 513 tokens"),
                // the vocabulary does not fit its tokenizer type
                bad("SentencePiece without scores", d -> d.meta.remove("tokenizer.ggml.scores"),
                        "tokenizer.ggml.model is llama (SentencePiece) but tokenizer.ggml.scores is missing"),
                bad("SentencePiece with a byte token missing", d -> {
                    d.setToken(3 + 0x41, "A-byte");
                    d.setType(3 + 0x41, 1);
                }, "tokenizer.ggml.tokens has 255 of the 256 SentencePiece byte-fallback tokens; <0x41> is missing"),
                bad("SentencePiece vocabulary without the word mark", d -> {
                    String[] t = d.tokens();
                    for (int i = 0; i < t.length; i++) {
                        d.setToken(i, t[i].replace("▁", "Ġ"));
                    }
                }, "tokenizer.ggml.model is llama (SentencePiece) but no token holds the word mark ▁ (U+2581)"),
                bad("BPE type without merges", d -> d.meta.put("tokenizer.ggml.model", GgufValue.of("gpt2")),
                        "byte-level BPE vocabulary without tokenizer.ggml.merges"),
                // hyperparameters
                bad("heads do not divide n_embd", d -> {
                    d.meta.put("llama.attention.head_count", GgufValue.ofUInt32(6));
                    d.meta.put("llama.attention.head_count_kv", GgufValue.ofUInt32(3));
                }, "metadata llama.attention.head_count 6 does not divide llama.embedding_length 64"),
                bad("kv heads do not divide heads", d -> d.meta.put("llama.attention.head_count_kv", GgufValue.ofUInt32(3)),
                        "attention.head_count 8 is not a multiple of attention.head_count_kv 3"),
                bad("partial rope", d -> d.meta.put("llama.rope.dimension_count", GgufValue.ofUInt32(4)),
                        "metadata llama.rope.dimension_count 4 differs from the head size 8 (llama rotates whole heads)"),
                bad("odd rope dims", d -> d.meta.put("llama.rope.dimension_count", GgufValue.ofUInt32(7)),
                        "rope.dimension_count 7 must be even"),
                bad("value length differs", d -> d.meta.put("llama.attention.value_length", GgufValue.ofUInt32(16)),
                        "metadata llama.attention.value_length 16 differs from the key length 8"),
                bad("no context length", d -> d.meta.remove("llama.context_length"),
                        "required metadata key llama.context_length is missing"),
                bad("zero context length", d -> d.meta.put("llama.context_length", GgufValue.ofUInt32(0)),
                        "metadata llama.context_length must be > 0, got 0"),
                bad("no rms epsilon", d -> d.meta.remove("llama.attention.layer_norm_rms_epsilon"),
                        "required metadata key llama.attention.layer_norm_rms_epsilon is missing"),
                bad("NaN rms epsilon", d -> d.meta.put("llama.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(Float.NaN)),
                        "metadata llama.attention.layer_norm_rms_epsilon must be a finite number >= 0, got NaN"),
                bad("negative rms epsilon", d -> d.meta.put("llama.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(-1e-5f)),
                        "layer_norm_rms_epsilon must be a finite number >= 0"),
                bad("zero rope base", d -> d.meta.put("llama.rope.freq_base", GgufValue.ofFloat32(0)),
                        "metadata llama.rope.freq_base must be a positive finite number, got 0.0"),
                bad("experts", d -> d.meta.put("llama.expert_count", GgufValue.ofUInt32(8)),
                        "metadata llama.expert_count = 8: mixture-of-experts models are not supported"),
                bad("zero feed-forward length", d -> d.meta.put("llama.feed_forward_length", GgufValue.ofUInt32(0)),
                        "metadata llama.feed_forward_length must be > 0, got 0"),
                bad("fewer layers than the file holds", d -> d.meta.put("llama.block_count", GgufValue.ofUInt32(4)),
                        "belongs to layer 4 but llama.block_count is 4"),
                bad("more layers than the file holds", d -> d.meta.put("llama.block_count", GgufValue.ofUInt32(6)),
                        "missing tensor blk.5.attn_norm.weight (expected shape [64], n_embd)"),
                // tensors
                bad("F16 norm weight", d -> d.retype("blk.0.attn_norm.weight", GgmlType.F16),
                        "tensor blk.0.attn_norm.weight has type F16, but norm weights must be F32"),
                bad("BF16 final norm", d -> d.retype("output_norm.weight", GgmlType.BF16),
                        "tensor output_norm.weight has type BF16, but norm weights must be F32"),
                bad("Q8_0 norm weight", d -> d.retype("blk.3.ffn_norm.weight", GgmlType.Q8_0),
                        "tensor blk.3.ffn_norm.weight has type Q8_0, but norm weights must be F32"),
                bad("NaN in a norm weight", d -> d.setFloat("blk.2.ffn_norm.weight", 3, Float.NaN),
                        "tensor blk.2.ffn_norm.weight holds NaN at index 3"),
                bad("infinite final norm", d -> d.setFloat("output_norm.weight", 0, Float.POSITIVE_INFINITY),
                        "tensor output_norm.weight holds Infinity at index 0"),
                bad("2-D norm weight", d -> d.reshape("blk.1.attn_norm.weight", 32, 2),
                        "tensor blk.1.attn_norm.weight has shape [32, 2], expected [64] (n_embd)"),
                bad("output rows differ from the vocabulary", d -> d.reshape("output.weight", 128, 256),
                        "tensor output.weight has shape [128, 256], expected [64, 512] (n_embd x n_vocab)"),
                bad("key projection of the query's size", d -> d.reshape("blk.0.attn_k.weight", 64, 64)
                                .reshape("blk.0.attn_q.weight", 64, 32),
                        "tensor blk.0.attn_q.weight has shape [64, 32], expected [64, 64] (n_embd x n_head * head_dim)"),
                bad("value projection too wide", d -> d.reshape("blk.2.attn_v.weight", 64, 64),
                        "tensor blk.2.attn_v.weight has shape [64, 64], expected [64, 32] (n_embd x n_head_kv * head_dim)"),
                bad("tensor the model would ignore", d -> d.addF32("blk.0.attn_output.bias", 64),
                        "tensor blk.0.attn_output.bias is not part of a llama model as metagen runs it"),
                bad("extra layer", d -> d.addF32("blk.5.attn_norm.weight", 64),
                        "tensor blk.5.attn_norm.weight belongs to layer 5 but llama.block_count is 5"),
                bad("matrix of an uncomputable type", d -> d.retype("blk.0.attn_q.weight", GgmlType.Q8_1, 64 * 64),
                        "tensor blk.0.attn_q.weight has type Q8_1, which metagen does not support"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptStories")
    void corruptedStoriesIsRefusedAtLoad(String name, Consumer<Draft> corruption, String expected) {
        Draft d = Draft.of(SharedData.stories260k());
        corruption.accept(d);
        Path p = d.write(name);
        assertRefused(p, expected);
    }

    @Test
    void noneValuesOfSpecialIdsAreAccepted() {
        // converters write 4294967295 (uint32) or -1 for "no such token"; stories260K itself has two of them
        Draft d = Draft.of(SharedData.stories260k());
        d.meta.put("tokenizer.ggml.eot_token_id", GgufValue.ofInt32(-1));
        d.meta.put("tokenizer.ggml.mask_token_id", GgufValue.ofUInt32(0xFFFFFFFF));
        Path p = d.write("none ids");
        try (TransformerModel m = TransformerModel.load(p, OPTIONS)) {
            assertEquals(2, m.tokenizer().special().eos());
        }
    }

    // ---- biases of a synthesized qwen2 ------------------------------------------------------------------------

    @Test
    void qwen2BiasesMustBeF32AndFinite() {
        Draft f16 = Draft.of(qwen2);
        f16.retype("blk.1.attn_k.bias", GgmlType.F16);
        assertRefused(f16.write("qwen2 F16 bias"), "tensor blk.1.attn_k.bias has type F16, but biases must be F32");
        Draft nan = Draft.of(qwen2);
        nan.setFloat("blk.0.attn_q.bias", 5, Float.NaN);
        assertRefused(nan.write("qwen2 NaN bias"), "tensor blk.0.attn_q.bias holds NaN at index 5");
        Draft output = Draft.of(qwen2);
        output.addF32("output.bias", 512);
        assertRefused(output.write("qwen2 output bias"), "tensor output.bias is not part of a qwen2 model as metagen runs it");
    }

    // ---- gemma3 and phi3 keys and tensors ---------------------------------------------------------------------

    @Test
    void gemma3SlidingPatternAndSandwichNormsAreChecked() {
        Path gemma3 = dir.resolve("tiny-gemma3.gguf");
        ModelSynthesizer.builder().preset("tiny-gemma3").seed(5).build().write(gemma3);
        try (TransformerModel m = TransformerModel.load(gemma3, OPTIONS)) {
            ModelConfig.Variant v = m.config().variant();
            assertEquals(12, v.slidingWindow());
            // llama.cpp's default period of 6: layers 0-4 slide, layer 5 is global
            assertEquals("[true, true, true, true, true, false]", Arrays.toString(v.slidingLayers()));
            assertEquals((float) Math.sqrt(64f), v.embdScale());
            assertEquals(1f / (float) Math.sqrt(32f), v.attnScale());
        }
        Draft pattern = Draft.of(gemma3);
        pattern.meta.put("gemma3.attention.sliding_window_pattern", GgufValue.ofUInt32(2));
        try (TransformerModel m = TransformerModel.load(pattern.write("gemma3 pattern 2"), OPTIONS)) {
            assertEquals("[true, false, true, false, true, false]", Arrays.toString(m.config().variant().slidingLayers()));
        }
        Draft flags = Draft.of(gemma3);
        flags.meta.put("gemma3.attention.sliding_window_pattern",
                new GgufValue(dev.metagen.engine.gguf.GgufValueType.ARRAY, dev.metagen.engine.gguf.GgufValueType.BOOL,
                        new boolean[] {true, false, true}));
        assertRefused(flags.write("gemma3 short pattern"),
                "metadata gemma3.attention.sliding_window_pattern has 3 entries for 6 layers");
        Draft swaHead = Draft.of(gemma3);
        swaHead.meta.put("gemma3.attention.key_length_swa", GgufValue.ofUInt32(16));
        assertRefused(swaHead.write("gemma3 swa head"), "metadata gemma3.attention.key_length_swa: separate head sizes");
        Draft noPostNorm = Draft.of(gemma3);
        noPostNorm.tensors.remove("blk.3.post_ffw_norm.weight");
        assertRefused(noPostNorm.write("gemma3 no post norm"), "missing tensor blk.3.post_ffw_norm.weight");
        Draft partialRope = Draft.of(gemma3);
        partialRope.meta.put("gemma3.rope.dimension_count", GgufValue.ofUInt32(16));
        assertRefused(partialRope.write("gemma3 partial rope"), "(gemma3 rotates whole heads)");
    }

    @Test
    void phi3FusedTensorsAndRopeFactorsAreChecked() {
        Path phi3 = dir.resolve("tiny-phi3.gguf");
        ModelSynthesizer.builder().preset("tiny-phi3").seed(5).build().write(phi3);
        try (TransformerModel m = TransformerModel.load(phi3, OPTIONS)) {
            assertEquals(12, m.config().ropeDim());
            assertEquals(256, m.config().variant().ropeOrigContext());
        }
        Draft heads = Draft.of(phi3);
        heads.meta.put("phi3.attention.key_length", GgufValue.ofUInt32(8));
        heads.meta.put("phi3.attention.value_length", GgufValue.ofUInt32(8));
        heads.meta.put("phi3.rope.dimension_count", GgufValue.ofUInt32(8));
        assertRefused(heads.write("phi3 heads"), "metadata phi3.attention.head_count 4 x head size 8 differs from"
                + " phi3.embedding_length 64 (phi3 projects n_embd to n_embd)");
        Draft oneFactorSet = Draft.of(phi3);
        oneFactorSet.tensors.remove("rope_factors_short.weight");
        assertRefused(oneFactorSet.write("phi3 long factors only"), "missing tensor rope_factors_short.weight");
        Draft gate = Draft.of(phi3);
        gate.addF32("blk.0.ffn_gate.weight", 64);
        assertRefused(gate.write("phi3 separate gate"), "tensor blk.0.ffn_gate.weight is not part of a phi3 model");
        Draft attnFactor = Draft.of(phi3);
        attnFactor.meta.put("phi3.rope.scaling.attn_factor", GgufValue.ofFloat32(-1f));
        assertRefused(attnFactor.write("phi3 attn factor"), "metadata phi3.rope.scaling.attn_factor must be a positive");
    }

    // ---- vocabularies that do not fit their tokenizer type (vocab-only files, as `metagen tokenize` reads) ------

    @Test
    void byteLevelBpeMergesMustNameTokens() {
        Path gpt2 = SharedData.tokenizers().resolve("ggml-vocab-gpt-2.gguf");
        Draft unknownPart = Draft.of(gpt2);
        unknownPart.setMerge(7, "Ġt zzzznotatoken");
        assertVocabRefused(unknownPart.write("gpt2 merge part"),
                "tokenizer.ggml.merges[7] = 'Ġt zzzznotatoken' names 'zzzznotatoken', which is not in tokenizer.ggml.tokens");
        Draft unknownResult = Draft.of(gpt2);
        unknownResult.setMerge(9, "<|endoftext|> !");
        assertVocabRefused(unknownResult.write("gpt2 merge result"),
                "tokenizer.ggml.merges[9] = '<|endoftext|> !' makes '<|endoftext|>!', which is not in tokenizer.ggml.tokens");
        Draft malformed = Draft.of(gpt2);
        malformed.setMerge(0, "Ġthe");
        assertVocabRefused(malformed.write("gpt2 malformed merge"),
                "tokenizer.ggml.merges[0] = 'Ġthe' is not two tokens separated by a space");
        Draft noMerges = Draft.of(gpt2);
        noMerges.meta.remove("tokenizer.ggml.merges");
        assertVocabRefused(noMerges.write("gpt2 no merges"), "byte-level BPE vocabulary without tokenizer.ggml.merges");
    }

    @Test
    void byteLevelBpeNeedsTheSpaceByteAndSentencePieceTheWordMark() {
        Draft noSpace = Draft.of(SharedData.tokenizers().resolve("ggml-vocab-gpt-2.gguf"));
        int space = Arrays.asList(noSpace.tokens()).indexOf("Ġ");
        noSpace.setToken(space, "<space>");
        noSpace.meta.put("tokenizer.ggml.merges", GgufValue.ofArray(new String[]{"h e", "l l"}));
        assertVocabRefused(noSpace.write("gpt2 without space"),
                "tokenizer.ggml.model is gpt2 (byte-level BPE) but no token is the space byte Ġ (U+0120)");
        // the GPT-2 vocabulary labelled as SentencePiece, scores and all
        Draft spm = Draft.of(SharedData.tokenizers().resolve("ggml-vocab-gpt-2.gguf"));
        spm.meta.put("tokenizer.ggml.model", GgufValue.of("llama"));
        spm.meta.put("tokenizer.ggml.scores", GgufValue.ofArray(new float[spm.tokens().length]));
        assertVocabRefused(spm.write("gpt2 vocabulary as llama"),
                "tokenizer.ggml.model is llama (SentencePiece) but no token holds the word mark ▁ (U+2581)");
        // and the SentencePiece one labelled as byte-level BPE
        Draft bpe = Draft.of(SharedData.tokenizers().resolve("ggml-vocab-llama-spm.gguf"));
        bpe.meta.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
        assertVocabRefused(bpe.write("spm vocabulary as gpt2"), "byte-level BPE vocabulary without tokenizer.ggml.merges");
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static Arguments bad(String name, Consumer<Draft> corruption, String expected) {
        return Arguments.of(name, corruption, expected);
    }

    private static void assertRefused(Path p, String expected) {
        MetagenException e;
        try {
            e = assertThrows(MetagenException.class, () -> TransformerModel.load(p, OPTIONS).close(), p + " was accepted");
        } catch (AssertionError a) {
            throw a;
        } catch (Throwable t) {
            throw new AssertionError(p + ": escaped as " + t, t);
        }
        assertOneLineNaming(p, e, expected);
    }

    private static void assertVocabRefused(Path p, String expected) {
        try (GgufFile f = GgufFile.open(p)) {
            MetagenException e = assertThrows(MetagenException.class, () -> GgufTokenizers.fromGguf(f), p + " was accepted");
            assertOneLineNaming(p, e, expected);
            MetagenException again = assertThrows(MetagenException.class, () -> GgufTokenizers.validate(f));
            assertEquals(e.getMessage(), again.getMessage());
        }
    }

    private static void assertOneLineNaming(Path p, MetagenException e, String expected) {
        String msg = e.getMessage();
        assertNotNull(msg);
        assertFalse(msg.contains("\n") || msg.contains("\r"), "not one line: " + msg);
        assertTrue(msg.startsWith(p + ": "), "does not start with the file: " + msg);
        assertTrue(msg.contains(expected), () -> "expected \"" + expected + "\" in: " + msg);
    }

    private static int[] ones(int n) {
        int[] a = new int[n];
        Arrays.fill(a, 1);
        return a;
    }

    private static String storiesToken(int id) {
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            return f.getStringArray("tokenizer.ggml.tokens")[id];
        }
    }

    /** A GGUF read into memory to be changed and written again: metadata and tensors in file order. */
    static final class Draft {
        final Map<String, GgufValue> meta = new LinkedHashMap<>();
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        record Tensor(long[] shape, GgmlType type, byte[] data) {}

        static Draft of(Path src) {
            Draft d = new Draft();
            try (GgufFile f = GgufFile.open(src)) {
                d.meta.putAll(f.metadata());
                for (GgufTensorInfo t : f.tensors().values()) {
                    d.tensors.put(t.name(), new Tensor(t.shape(), t.type(), f.tensorData(t).toArray(ValueLayout.JAVA_BYTE)));
                }
            }
            return d;
        }

        Path write(String name) {
            Path p = dir.resolve(name.replaceAll("[^A-Za-z0-9]+", "-") + "-" + (counter++) + ".gguf");
            GgufWriter w = new GgufWriter();
            meta.forEach(w::put);
            tensors.forEach((n, t) -> w.addTensor(n, t.shape(), t.type(), t::data));
            w.write(p);
            return p;
        }

        String[] tokens() {
            return ((String[]) meta.get("tokenizer.ggml.tokens").value()).clone();
        }

        void setToken(int id, String text) {
            String[] t = tokens();
            t[id] = text;
            meta.put("tokenizer.ggml.tokens", GgufValue.ofArray(t));
        }

        void setType(int id, int type) {
            int[] types = ((int[]) meta.get("tokenizer.ggml.token_type").value()).clone();
            types[id] = type;
            meta.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(types));
        }

        /** One more token, with a score and a type, so only the count against the embedding is wrong. */
        void appendToken(String text) {
            String[] t = Arrays.copyOf(tokens(), tokens().length + 1);
            t[t.length - 1] = text;
            meta.put("tokenizer.ggml.tokens", GgufValue.ofArray(t));
            float[] scores = (float[]) meta.get("tokenizer.ggml.scores").value();
            meta.put("tokenizer.ggml.scores", GgufValue.ofArray(Arrays.copyOf(scores, t.length)));
            int[] types = Arrays.copyOf((int[]) meta.get("tokenizer.ggml.token_type").value(), t.length);
            types[t.length - 1] = 1;
            meta.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(types));
        }

        void setMerge(int i, String merge) {
            String[] m = ((String[]) meta.get("tokenizer.ggml.merges").value()).clone();
            m[i] = merge;
            meta.put("tokenizer.ggml.merges", GgufValue.ofArray(m));
        }

        float[] floats(String name) {
            Tensor t = tensors.get(name);
            float[] v = new float[Math.toIntExact(Arrays.stream(t.shape()).reduce(1, (a, b) -> a * b))];
            TypeKernels.of(t.type(), name).dequantize(java.lang.foreign.MemorySegment.ofArray(t.data()), 0, v, 0, v.length);
            return v;
        }

        /** The tensor's values stored in another type. */
        void retype(String name, GgmlType type) {
            Tensor t = tensors.get(name);
            float[] v = floats(name);
            tensors.put(name, new Tensor(t.shape(), type, TypeKernels.of(type, name).quantize(v, 0, v.length)));
        }

        /** The tensor relabelled as a type without a kernel: only the byte count of {@code elements} is right. */
        void retype(String name, GgmlType type, long elements) {
            Tensor t = tensors.get(name);
            tensors.put(name, new Tensor(t.shape(), type, new byte[Math.toIntExact(type.byteSize(elements))]));
        }

        void setFloat(String name, int index, float value) {
            Tensor t = tensors.get(name);
            assertEquals(GgmlType.F32, t.type());
            java.nio.ByteBuffer.wrap(t.data()).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(4 * index, value);
        }

        /** The same F32 bytes under another shape with as many elements, or zeros when the count differs. */
        Draft reshape(String name, long... shape) {
            Tensor t = tensors.get(name);
            long elements = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            byte[] data = Arrays.copyOf(t.data(), Math.toIntExact(t.type().byteSize(elements)));
            tensors.put(name, new Tensor(shape, t.type(), data));
            return this;
        }

        void addF32(String name, int n) {
            float[] v = new float[n];
            Arrays.fill(v, 0.5f);
            tensors.put(name, new Tensor(new long[]{n}, GgmlType.F32, TypeKernels.of(GgmlType.F32, name).quantize(v, 0, n)));
        }
    }

    @Test
    void draftRoundTripIsFaithful() {
        // the helper must not change a file by itself, or the refusals above could come from the copy
        Path copy = Draft.of(SharedData.stories260k()).write("unchanged");
        try (GgufFile a = GgufFile.open(SharedData.stories260k()); GgufFile b = GgufFile.open(copy)) {
            assertEquals(a.metadata().keySet(), b.metadata().keySet());
            assertEquals(a.tensors().keySet(), b.tensors().keySet());
            for (GgufTensorInfo t : a.tensors().values()) {
                GgufTensorInfo u = b.tensorInfo(t.name());
                assertEquals(t.type(), u.type());
                assertTrue(Arrays.equals(t.shape(), u.shape()));
                assertTrue(Arrays.equals(a.tensorData(t).toArray(ValueLayout.JAVA_BYTE), b.tensorData(u).toArray(ValueLayout.JAVA_BYTE)),
                        t.name());
            }
        }
        try (TransformerModel m = TransformerModel.load(copy, OPTIONS)) {
            assertEquals(512, m.config().vocab());
        }
    }
}
