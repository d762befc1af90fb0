package dev.metagen.engine.synth;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ModelSynthesizerTest {
    @TempDir
    Path dir;

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes() throws IOException {
        Path a = dir.resolve("a.gguf");
        Path b = dir.resolve("b.gguf");
        Path c = dir.resolve("c.gguf");
        ModelSynthesizer.builder().preset("tiny-qwen2").seed(5).build().write(a);
        ModelSynthesizer.builder().preset("tiny-qwen2").seed(5).build().write(b);
        ModelSynthesizer.builder().preset("tiny-qwen2").seed(6).build().write(c);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        assertFalse(Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(c)));
    }

    /** Every type and mix writes a file whose tensors have the planned shapes and types and which the engine loads. */
    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K",
            "Q4_K_M", "Q5_K_M"})
    void writesEveryTypeAndMix(String type) {
        // a K-quant compatible shape (rows of 256) so the K types are used, not their fallbacks
        ModelSynthesizer s = ModelSynthesizer.builder().preset("tiny-llama").embd(256).heads(4).kvHeads(2)
                .ffn(256).vocab(300).type(type).seed(1).build();
        Set<GgmlType> needed = new HashSet<>(s.tensorTypes().values());
        assumeTrue(needed.stream().allMatch(TypeKernels::isSupported),
                "no kernel yet for one of " + needed + " (the tensor kernels land separately)");
        Path f = dir.resolve(type + ".gguf");
        s.write(f);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(s.tensorTypes().keySet(), g.tensors().keySet());
            for (GgufTensorInfo t : g.tensors().values()) {
                assertEquals(s.tensorTypes().get(t.name()), t.type(), t.name());
                assertArrayEquals(s.tensorShapes().get(t.name()), t.shape(), t.name());
            }
            assertEquals(GgmlType.F32, g.tensorInfo("blk.0.attn_norm.weight").type());
        }
        try (TransformerModel m = TransformerModel.load(f, new ModelOptions(1, 32))) {
            Logits l = m.forward(m.newState(), 1, 2, 3);
            for (float v : l.values()) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void q4kmFollowsLlamaCppRulesOnTheLlama32Shape() {
        Map<String, GgmlType> t = ModelSynthesizer.builder().preset("llama-3.2-1b").type("Q4_K_M").build().tensorTypes();
        // tied embedding is the output: Q6_K
        assertEquals(GgmlType.Q6_K, t.get("token_embd.weight"));
        assertEquals(GgmlType.F32, t.get("rope_freqs.weight"));
        assertEquals(GgmlType.F32, t.get("output_norm.weight"));
        // use_more_bits(i, 16): i < 2, i >= 14, or (i - 2) % 3 == 2
        Set<Integer> more = Set.of(0, 1, 4, 7, 10, 13, 14, 15);
        for (int i = 0; i < 16; i++) {
            GgmlType expect = more.contains(i) ? GgmlType.Q6_K : GgmlType.Q4_K;
            assertEquals(expect, t.get("blk." + i + ".attn_v.weight"), "attn_v " + i);
            assertEquals(expect, t.get("blk." + i + ".ffn_down.weight"), "ffn_down " + i);
            assertEquals(GgmlType.Q4_K, t.get("blk." + i + ".attn_q.weight"));
            assertEquals(GgmlType.Q4_K, t.get("blk." + i + ".ffn_up.weight"));
            assertEquals(GgmlType.F32, t.get("blk." + i + ".ffn_norm.weight"));
        }
        assertEquals(16 * 9 + 3, t.size());
    }

    @Test
    void typesFallBackLikeLlamaCppWhenRowsDoNotFitTheBlock() {
        // tiny rows are 64 or 128 long: K-quant blocks (256) do not fit
        Map<String, GgmlType> k4 = ModelSynthesizer.builder().preset("tiny-qwen2").type("Q4_K").build().tensorTypes();
        assertEquals(GgmlType.Q5_0, k4.get("blk.0.attn_q.weight"));
        assertEquals(GgmlType.F32, k4.get("blk.0.attn_q.bias"));
        Map<String, GgmlType> k5 = ModelSynthesizer.builder().preset("tiny-qwen2").type("Q5_K").build().tensorTypes();
        assertEquals(GgmlType.Q5_1, k5.get("blk.1.ffn_down.weight"));
        Map<String, GgmlType> k6 = ModelSynthesizer.builder().preset("tiny-qwen2").type("Q6_K").build().tensorTypes();
        assertEquals(GgmlType.Q8_0, k6.get("token_embd.weight"));
        // a row of 48 fits no 32-block either: F16
        Map<String, GgmlType> odd = ModelSynthesizer.builder().preset("tiny-llama").embd(48).heads(3).kvHeads(1)
                .type("Q4_K_M").build().tensorTypes();
        assertEquals(GgmlType.F16, odd.get("blk.0.attn_q.weight"));
        assertEquals(GgmlType.F16, odd.get("output.weight")); // Q8_0 for a non-256 output row, then F16
    }

    @Test
    void presetsHaveThePublishedShapes() {
        SynthSpec l = ModelSynthesizer.builder().preset("llama-3.2-1b").build().spec();
        assertEquals(2048, l.embd());
        assertEquals(16, l.layers());
        assertEquals(8, l.kvHeads());
        assertEquals(128256, l.vocab());
        SynthSpec q2 = ModelSynthesizer.builder().preset("qwen2.5-0.5b").build().spec();
        assertEquals(896, q2.embd());
        assertEquals(64, q2.headDim());
        assertEquals(4864, q2.ffn());
        SynthSpec q3 = ModelSynthesizer.builder().preset("qwen3-0.6b").build().spec();
        assertEquals(128, q3.headDim());
        assertEquals(28, q3.layers());
        assertEquals(151936, q3.vocab());
        long params = ModelSynthesizer.builder().preset("qwen3-0.6b").build().tensorShapes().values().stream()
                .mapToLong(s -> Arrays.stream(s).reduce(1, (x, y) -> x * y)).sum();
        assertEquals(596_049_920L, params); // Qwen3-0.6B has 0.6B parameters with tied embeddings
    }

    @Test
    void llama3RopeFactorsCoverAllThreeRegions() {
        float[] f = ModelSynthesizer.builder().preset("tiny-llama").build().spec().llama3RopeFactors();
        assertEquals(1f, f[0]);
        assertEquals(32f, f[7]);
        assertTrue(f[3] > 1f && f[3] < 32f, "interpolated factor " + f[3]);
    }

    @Test
    void tokenizerCanBeCopiedFromAnotherGguf() {
        Path f = dir.resolve("spm.gguf");
        Path vocab = SharedData.tokenizers().resolve("ggml-vocab-llama-spm.gguf");
        ModelSynthesizer s = ModelSynthesizer.builder().preset("tiny-llama").tokenizerFrom(vocab).build();
        assertEquals(32000, s.spec().vocab());
        s.write(f);
        try (GgufFile g = GgufFile.open(f); GgufFile v = GgufFile.open(vocab)) {
            assertArrayEquals(v.getStringArray("tokenizer.ggml.tokens"), g.getStringArray("tokenizer.ggml.tokens"));
            assertEquals(v.getString("tokenizer.ggml.model", null), g.getString("tokenizer.ggml.model", null));
            assertArrayEquals(new long[]{64, 32000}, g.tensorInfo("token_embd.weight").shape());
        }
        assertThrows(MetagenException.class,
                () -> ModelSynthesizer.builder().preset("tiny-llama").vocab(600).tokenizerFrom(vocab).build());
    }

    @Test
    void builtInVocabularyIsWellFormed() {
        Path f = dir.resolve("vocab.gguf");
        ModelSynthesizer.builder().preset("tiny-qwen3").build().write(f);
        try (GgufFile g = GgufFile.open(f)) {
            String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
            assertEquals(512, tokens.length);
            assertEquals(512, new HashSet<>(Arrays.asList(tokens)).size());
            assertEquals("<0x0A>", tokens[3 + 10]);
            assertEquals(512, g.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(1, g.getInt("tokenizer.ggml.bos_token_id", -1));
        }
    }

    /** The built-in vocabulary works with the engine's tokenizer: text round-trips, words use merged pieces. */
    @Test
    void builtInVocabularyTokenizesAndDecodes() {
        Path f = dir.resolve("tok.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").vocab(2000).build().write(f);
        try (TransformerModel m = TransformerModel.load(f, new ModelOptions(1, 64))) {
            String text = "the cat sat on the mat. Ünïcode ok!\n";
            int[] ids = m.tokenizer().encode(text, true);
            assertEquals(1, ids[0]);
            assertEquals(text, m.tokenizer().decode(ids).stripLeading());
            assertTrue(ids.length < text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
                    "merged pieces expected, got " + ids.length + " ids");
            Logits l = m.forward(m.newState(), ids);
            assertEquals(2000, l.size());
        }
    }

    @Test
    void badSettingsAreClearErrors() {
        assertThrows(MetagenException.class, () -> ModelSynthesizer.builder().preset("gpt-5").build());
        assertThrows(MetagenException.class, () -> ModelSynthesizer.builder().type("Q3_K").build());
        assertThrows(MetagenException.class, () -> ModelSynthesizer.builder().preset("tiny-qwen2").heads(3).kvHeads(2).build());
        assertThrows(MetagenException.class, () -> ModelSynthesizer.builder().architecture("gpt2"));
        assertThrows(MetagenException.class, () -> ModelSynthesizer.builder().vocab(100).build().write(dir.resolve("x.gguf")));
    }

    /**
     * Next-token distributions are peaked yet depend on the input: over 3 architectures x 20 random contexts the
     * median top-1 probability is above 0.5, and the greedy choices are not all the same.
     */
    @Test
    void distributionsArePeakedAndInputDependent() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        StringBuilder report = new StringBuilder();
        for (String preset : new String[]{"tiny-llama", "tiny-qwen2", "tiny-qwen3"}) {
            Path f = dir.resolve(preset + ".gguf");
            ModelSynthesizer.builder().preset(preset).seed(9).build().write(f);
            double[] top1 = new double[20];
            double[] margin = new double[20];
            Set<Integer> argmaxes = new HashSet<>();
            try (TransformerModel m = TransformerModel.load(f, new ModelOptions(1, 64))) {
                for (int i = 0; i < top1.length; i++) {
                    int[] ctx = new int[1 + rnd.nextInt(8)];
                    ctx[0] = 1;
                    for (int j = 1; j < ctx.length; j++) {
                        ctx[j] = 3 + rnd.nextInt(509);
                    }
                    try (ModelState s = m.newState()) {
                        Logits l = m.forward(s, ctx);
                        double[] p = l.probabilities();
                        double[] sorted = p.clone();
                        Arrays.sort(sorted);
                        top1[i] = sorted[sorted.length - 1];
                        double[] lg = new double[l.size()];
                        for (int k = 0; k < lg.length; k++) {
                            lg[k] = l.values()[k];
                        }
                        Arrays.sort(lg);
                        margin[i] = lg[lg.length - 1] - lg[lg.length - 2];
                        argmaxes.add(l.argmax());
                    }
                }
            }
            double medianTop1 = median(top1);
            report.append(String.format("%s: median top-1 p %.3f (min %.3f), median top1-top2 logit margin %.2f (min %.3f), "
                    + "%d distinct argmax over 20 contexts%n", preset, medianTop1, Arrays.stream(top1).min().orElse(0),
                    median(margin), Arrays.stream(margin).min().orElse(0), argmaxes.size()));
            assertTrue(medianTop1 > 0.5, preset + " median top-1 probability " + medianTop1);
            assertTrue(argmaxes.size() >= 10, preset + " only " + argmaxes.size() + " distinct greedy tokens");
        }
        System.out.print(report);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return (s[s.length / 2] + s[(s.length - 1) / 2]) / 2;
    }
}
