package dev.metagen.engine.conformance;

import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.tensor.TypeKernels;
import dev.metagen.engine.testing.Golden;
import dev.metagen.engine.hf.HfConverter;
import dev.metagen.engine.hf.HfDirectoryWriter;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.testing.LlamaCppModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * TinyStories-656K (a real Hugging Face Llama checkpoint: config.json, F32 safetensors, tokenizer.json) run from its
 * directory by metagen, converted by {@link HfConverter} and run by llama.cpp: the same 256 greedy ids from BOS,
 * coherent TinyStories text, and metagen's logits on the directory equal to its logits on the converted file.
 */
class HfDirectoryConformanceTest {
    static final int STEPS = 256;
    /** The first 64 greedy ids a float64 NumPy forward pass gives (shared/models/README.md). */
    static final int[] FLOAT64_REFERENCE = {147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615,
            242, 1482, 951, 628, 499, 826, 872, 921, 318, 385, 628, 499, 826, 617, 242, 198, 1047, 425, 1939, 122, 1924,
            1171, 94, 303, 328, 229, 521, 776, 115, 1139, 312, 447, 1456, 319, 115, 133, 114, 100, 167, 753, 1665, 361,
            303, 1900, 319, 467, 730, 717, 532, 856};
    /**
     * Max |logit difference| between the directory (Q/K rows as stored, rope over pairs (i, i + d/2)) and the converted
     * file (rows permuted, adjacent pairs): the same arithmetic except for the order of the q.k sums.
     */
    static final double LOGIT_TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    private static LlamaCppModel llama;

    @BeforeAll
    static void start() {
        llama = LlamaCppModel.start();
    }

    @AfterAll
    static void stop() {
        if (llama != null) {
            llama.close();
        }
    }

    @Test
    void directoryAndConvertedFileMatchLlamaCpp() {
        Path dir = SharedData.model("tinystories-656k");
        Path gguf = tmp.resolve("tinystories-656k-f32.gguf");
        HfConverter.convert(dir, gguf, "f32", false);
        int[] prompt = {1};
        try (TransformerModel fromDir = TransformerModel.load(dir, new ModelOptions(1, 512));
             TransformerModel fromFile = TransformerModel.load(gguf, new ModelOptions(1, 512))) {
            llama.load(gguf, 512, 1);
            int[] ours = Conformance.greedy(fromDir, prompt, STEPS);
            String text = fromDir.tokenizer().decode(ours);
            System.out.println("TinyStories-656K, greedy from BOS, metagen on the directory:\n" + text);
            assertArrayEquals(FLOAT64_REFERENCE, Arrays.copyOf(ours, FLOAT64_REFERENCE.length), "float64 reference");
            assertTrue(text.strip().startsWith("Once upon a time, there was a little girl named Lily. She had a toy car"), text);

            int[] ref = llama.greedy(prompt, STEPS);
            assertArrayEquals(ref, ours, "llama.cpp's greedy ids on the converted file");
            assertArrayEquals(ours, Conformance.greedy(fromFile, prompt, STEPS), "metagen on the converted file");

            List<LlamaCppModel.Step> probs = llama.probs(prompt, 32, 8);
            Conformance.Report r = Conformance.compare(fromDir, probs, prompt, LlamaCppConformanceTest.F32_TOLERANCE);
            System.out.println("directory vs llama.cpp on the converted file: " + r);
            assertTrue(r.maxProbDiff() < LlamaCppConformanceTest.F32_TOLERANCE, r.toString());

            double worst = maxLogitDifference(fromDir, fromFile, ours);
            System.out.printf("max |logit(directory) - logit(converted)| over %d positions: %.3g%n", STEPS, worst);
            assertTrue(worst < LOGIT_TOLERANCE, "logits differ by " + worst);
        }
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals("llama", f.getString("general.architecture", null));
            assertEquals("llama", f.getString("tokenizer.ggml.model", null));
            assertEquals(1, f.getInt("tokenizer.ggml.bos_token_id", -1));
            assertEquals(2, f.getInt("tokenizer.ggml.eos_token_id", -1));
            assertTrue(f.getBool("tokenizer.ggml.add_bos_token", false));
            assertNull(f.tensorInfo("output.weight"), "tied embeddings are stored once, as token_embd");
        }
    }

    /** Every {@code --type}: llama.cpp loads the converted file and decodes the greedy ids metagen decodes from it. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"f16", "bf16", "q8_0"})
    void everyOutputTypeLoadsInLlamaCpp(String type) {
        Path gguf = tmp.resolve("tinystories-656k-" + type + ".gguf");
        HfConverter.convert(SharedData.model("tinystories-656k"), gguf, type, false);
        int[] prompt = {1};
        try (TransformerModel model = TransformerModel.load(gguf, new ModelOptions(1, 128))) {
            llama.load(gguf, 128, 1);
            int[] ours = Conformance.greedy(model, prompt, 24);
            assertArrayEquals(llama.greedy(prompt, 24), ours, type);
            assertEquals(147, ours[0], "'Once'");
        }
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals(switch (type) {
                case "f16" -> 1;
                case "bf16" -> 32;
                default -> 7;
            }, f.getInt("general.file_type", -1));
            assertEquals(type.toUpperCase(), f.tensorInfo("blk.0.attn_q.weight").typeName());
            assertEquals("F32", f.tensorInfo("blk.0.attn_norm.weight").typeName());
        }
    }

    /**
     * A synthesized model written as a Hugging Face directory (transformers names, llama Q/K rows un-permuted, Gemma 3
     * norms less the converter's + 1, Phi-3's fused QKV / gate-up and LongRoPE factor lists in config.json; F32, F16
     * or BF16, one or two shards, tied or not), run by metagen from the directory and by llama.cpp from the file
     * {@link HfConverter} writes: the same greedy ids and next-token probabilities, within the bounds
     * {@link ArchitectureConformanceTest} holds each architecture to. For F32 the round trip is exact: the converted
     * file has the synthesized GGUF's tensors bit for bit (llama's permutation undoes the directory's, Gemma's + 1
     * undoes its - 1) and llama.cpp on the synthesized GGUF gives the same ids and probabilities.
     */
    @ParameterizedTest(name = "{0} {1} {2} shard(s) tied={3}")
    @CsvSource({"tiny-llama, F32, 1, false", "tiny-qwen2, BF16, 2, true", "tiny-qwen3, BF16, 2, true",
            "tiny-qwen2, F16, 1, false", "tiny-gemma3, F32, 1, true", "tiny-gemma3, BF16, 2, false",
            "tiny-gemma3, F16, 1, true", "tiny-phi3, F32, 2, false", "tiny-phi3, BF16, 1, true"})
    void synthesizedDirectoryMatchesLlamaCpp(String preset, String dtype, int shards, boolean tied) throws Exception {
        boolean llamaArch = preset.equals("tiny-llama");
        Path source = tmp.resolve(preset + ".gguf");
        ModelSynthesizer.Builder b = ModelSynthesizer.builder().preset(preset).type("F32").seed(5).tiedEmbeddings(tied);
        if (!llamaArch) {
            b.vocab(HfDirectoryWriter.BYTE_LEVEL_VOCAB);
        }
        b.build().write(source);
        String arch = preset.substring(5);
        String hfArch = switch (arch) {
            case "llama" -> "LlamaForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "gemma3" -> "Gemma3ForCausalLM";
            default -> "Phi3ForCausalLM";
        };
        Path dir = tmp.resolve(preset + "-hf");
        HfDirectoryWriter.write(source, dir, hfArch, dtype, shards, tied);
        Path converted = tmp.resolve(preset + "-converted.gguf");
        HfConverter.convert(dir, converted, "f32", false);
        int[] prompt = {1, 100, 17, 42, 250, 260};
        // phi3 F32 beyond its original context of 256, so that the long LongRoPE factors act; the others within it
        int context = arch.equals("phi3") && dtype.equals("F32") ? 512 : 128;
        double bound = arch.equals("gemma3") ? ArchitectureConformanceTest.GEMMA3_TOLERANCE
                : LlamaCppConformanceTest.F32_TOLERANCE;
        int steps = LlamaCppConformanceTest.STEPS;
        try (TransformerModel model = TransformerModel.load(dir, new ModelOptions(1, context))) {
            llama.load(converted, context, 1);
            List<LlamaCppModel.Step> ref = llama.probs(prompt, steps, LlamaCppConformanceTest.TOP);
            Conformance.Report r = Conformance.compare(model, ref, prompt, bound);
            int[] ours = Conformance.greedy(model, prompt, steps);
            int[] theirs = ref.stream().mapToInt(LlamaCppModel.Step::token).toArray();
            System.out.printf("%s %s %d shard(s) tied=%s directory vs llama.cpp on the converted file: %s%n",
                    preset, dtype, shards, tied, r);
            assertTrue(r.maxProbDiff() < bound, r.toString());
            assertEquals(r.mismatches(), r.tieMismatches(), "a greedy mismatch outside the near-tie margin: " + r);
            if (bound == LlamaCppConformanceTest.F32_TOLERANCE) {
                assertArrayEquals(theirs, ours, "greedy ids");
            } else {
                // Gemma 3: llama.cpp's half-precision GELU table leaves near-ties (see ArchitectureConformanceTest)
                assertTrue(r.greedyAgreement() >= 16, "a stretch of greedy ids: " + r);
                assertTrue(Golden.agreement(theirs, ours) >= r.greedyAgreement(), "free-running greedy ids: " + r);
            }
            if (dtype.equals("F32")) {
                llama.load(source, context, 1);
                List<LlamaCppModel.Step> onSource = llama.probs(prompt, steps, LlamaCppConformanceTest.TOP);
                Conformance.Report rs = Conformance.compare(model, onSource, prompt, bound);
                System.out.printf("%s directory vs llama.cpp on the synthesized GGUF: %s%n", preset, rs);
                assertArrayEquals(theirs, onSource.stream().mapToInt(LlamaCppModel.Step::token).toArray(),
                        "llama.cpp on the source GGUF and on the converted file");
                assertTrue(rs.maxProbDiff() < bound, rs.toString());
                assertSameTensors(source, converted);
            }
        }
        try (GgufFile f = GgufFile.open(converted)) {
            assertEquals(arch, f.getString("general.architecture", null));
            assertEquals(tied, f.tensorInfo("output.weight") == null, "output.weight only when untied");
            assertEquals(llamaArch ? "llama" : "gpt2", f.getString("tokenizer.ggml.model", null));
            assertEquals(0.7f, f.getFloat("general.sampling.temp", 0), 1e-6);
            assertEquals(20, f.getInt("general.sampling.top_k", 0));
            assertEquals(arch.equals("qwen2"), f.tensorInfo("blk.0.attn_q.bias") != null, "q/k/v biases for qwen2");
            assertEquals(llamaArch, f.tensorInfo("rope_freqs.weight") != null, "llama3 rope factors");
            assertEquals(arch.equals("qwen3") || arch.equals("gemma3"), f.tensorInfo("blk.1.attn_k_norm.weight") != null,
                    "QK norm for qwen3 and gemma3");
            if (!llamaArch) {
                assertEquals(HfDirectoryWriter.TEMPLATE, f.getString("tokenizer.chat_template", null));
                assertEquals("qwen2", f.getString("tokenizer.ggml.pre", null));
                assertEquals(299, f.getInt("tokenizer.ggml.eos_token_id", -1), "eos from tokenizer_config.json");
            }
            if (arch.equals("gemma3")) {
                // the keys Gemma3Model writes, and no others of these
                assertEquals(12, f.getInt("gemma3.attention.sliding_window", 0));
                assertEquals(10000f, f.getFloat("gemma3.rope.freq_base_swa", 0));
                assertEquals(1_000_000f, f.getFloat("gemma3.rope.freq_base", 0));
                assertEquals(32, f.getInt("gemma3.attention.key_length", 0));
                assertFalse(f.has("gemma3.final_logit_softcapping"), "no softcap when config.json's is null");
                assertFalse(f.has("gemma3.rope.dimension_count"));
                assertNotNull(f.tensorInfo("blk.0.post_attention_norm.weight"));
                assertNotNull(f.tensorInfo("blk.0.post_ffw_norm.weight"));
                assertEquals("F32", f.tensorInfo("blk.0.ffn_norm.weight").typeName());
            }
            if (arch.equals("phi3")) {
                // the keys Phi3MiniModel writes: no rope.scaling.type, no key_length; sliding_window 0 when null
                assertEquals(12, f.getInt("phi3.rope.dimension_count", 0));
                assertEquals(256, f.getInt("phi3.rope.scaling.original_context_length", 0));
                assertEquals((float) Math.sqrt(1 + Math.log(4) / Math.log(256)), f.getFloat("phi3.rope.scaling.attn_factor", 0));
                assertEquals(0, f.getInt("phi3.attention.sliding_window", -1));
                assertFalse(f.has("phi3.rope.scaling.type"));
                assertFalse(f.has("phi3.attention.key_length"));
                assertEquals(6, f.tensorInfo("rope_factors_long.weight").elementCount());
                assertEquals(6, f.tensorInfo("rope_factors_short.weight").elementCount());
                assertNotNull(f.tensorInfo("blk.1.attn_qkv.weight"));
                assertEquals(256, f.tensorInfo("blk.1.ffn_up.weight").shape()[1], "fused gate-up: 2 x n_ff rows");
                assertNull(f.tensorInfo("blk.1.ffn_gate.weight"));
            }
        }
    }

    /**
     * The converted file holds the synthesized file's tensors, bit for bit (llama3's rope_freqs, which the converter
     * recomputes from config.json's rope_scaling in its own arithmetic, within 1e-6 relative).
     */
    private static void assertSameTensors(Path source, Path converted) {
        try (GgufFile a = GgufFile.open(source); GgufFile b = GgufFile.open(converted)) {
            assertEquals(new java.util.TreeSet<>(a.tensors().keySet()), new java.util.TreeSet<>(b.tensors().keySet()));
            for (GgufTensorInfo t : a.tensors().values()) {
                GgufTensorInfo u = b.tensorInfo(t.name());
                assertArrayEquals(t.shape(), u.shape(), t.name());
                float[] x = new float[(int) t.elementCount()];
                float[] y = new float[x.length];
                TypeKernels.of(t.type(), t.name()).dequantize(a.tensorData(t), 0, x, 0, x.length);
                TypeKernels.of(u.type(), u.name()).dequantize(b.tensorData(u), 0, y, 0, y.length);
                if (t.name().equals("rope_freqs.weight")) {
                    for (int i = 0; i < x.length; i++) {
                        assertEquals(x[i], y[i], 1e-6 * Math.abs(x[i]), t.name() + "[" + i + "]");
                    }
                } else {
                    assertArrayEquals(x, y, t.name());
                }
            }
        }
    }

    /** Teacher-forced along {@code path}: the largest difference of any logit at any position. */
    private static double maxLogitDifference(TransformerModel a, TransformerModel b, int[] path) {
        ModelState sa = a.newState();
        ModelState sb = b.newState();
        try {
            double worst = 0;
            int[] prompt = new int[path.length];
            prompt[0] = 1;
            System.arraycopy(path, 0, prompt, 1, path.length - 1);
            List<Logits> la = a.forwardAll(sa, prompt);
            List<Logits> lb = b.forwardAll(sb, prompt);
            for (int i = 0; i < la.size(); i++) {
                float[] x = la.get(i).values();
                float[] y = lb.get(i).values();
                for (int k = 0; k < x.length; k++) {
                    worst = Math.max(worst, Math.abs(x[k] - y[k]));
                }
            }
            return worst;
        } finally {
            sa.close();
            sb.close();
        }
    }
}
