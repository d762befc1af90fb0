package dev.metagen.engine.conformance;

import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.testing.Golden;
import dev.metagen.engine.testing.LlamaCppModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * gemma3 and phi3 synthesized models against llama.cpp (node-llama-cpp, CPU, F32 KV cache), with the features that
 * set them apart switched on: Gemma 3 with six layers (five sliding-window, one global), a window of 12 positions
 * inside sequences of more than 80, head size above n_embd / n_head, two rope bases, GeGLU, sandwich and QK norms,
 * and once with final logit softcapping; Phi-3 with fused QKV and gate-up, rope on 24 of 32 dims, and LongRoPE
 * factors whose short or long set is chosen by the context length (both are run). Prompts of 40 tokens so that the
 * prefill itself crosses the window. metagen runs each file (quantized ones too) against llama.cpp on the same weights
 * in float32.
 *
 * <p>Phi-3 meets {@link LlamaCppConformanceTest}'s F32 requirements: probabilities within 5e-5 (measured up to
 * 1.3e-5 over 48 steps) and identical greedy ids. Gemma 3 cannot: llama.cpp's CPU GELU rounds its input to half precision and looks
 * the result up in a half-precision table, a step function with 2^-11 relative steps, so an input that differs in
 * its last float bits (summation order) can land on the neighbouring step. Nudging every GELU input of metagen by
 * one to four float ulps moves its own probabilities by up to 1.1e-3 at a single position; along 48 steps metagen
 * and llama.cpp differ by up to 1.9e-3 (F32, Q8_0 and Q4_K_M weights, seeds 5 and 11; measured 2026-12, 2-core x86).
 * Gemma 3 is therefore held to {@link #GEMMA3_TOLERANCE}, and greedy ids must agree except at near-ties within it
 * (free running: identical up to the first one, after at least 16 steps). Computing GELU exactly instead is off
 * by 6e-4 already at the first position.
 */
class ArchitectureConformanceTest {
    static final int STEPS = 48;
    static final int TOP = 10;
    static final int[] PROMPT = prompt(40);
    /** About twice the largest difference measured for Gemma 3 (see above). */
    static final double GEMMA3_TOLERANCE = 4e-3;

    @TempDir
    static Path dir;

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

    @ParameterizedTest(name = "tiny-gemma3 {0}")
    @ValueSource(strings = {"F32", "Q8_0", "Q4_K_M"})
    void gemma3MatchesLlamaCpp(String type) {
        Path file = gemma3(type, 0f);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(12, f.getInt("gemma3.attention.sliding_window", 0));
        }
        check(file, type, 128, GEMMA3_TOLERANCE);
    }

    @Test
    void gemma3WithFinalLogitSoftcappingMatchesLlamaCpp() {
        Path capped = gemma3("F32", 20f);
        check(capped, "F32", 128, GEMMA3_TOLERANCE);
        // the cap changes the distributions (so the comparison above covers it)
        try (TransformerModel a = TransformerModel.load(capped, new ModelOptions(1, 128));
             TransformerModel b = TransformerModel.load(gemma3("F32", 0f), new ModelOptions(1, 128))) {
            float[] la = lastLogits(a, PROMPT);
            float[] lb = lastLogits(b, PROMPT);
            assertTrue(max(la) <= 20f && max(lb) > 20f, "softcapped logits stay below the cap");
        }
    }

    @Test
    void gemma3WithLinearRopeScalingOnGlobalLayersMatchesLlamaCpp() {
        // as Gemma 3 4B and larger: linear scaling (factor 8) of the global layers' rope; sliding layers unscaled
        Path scaled = dir.resolve("gemma3-rope-linear8.gguf");
        try (GgufFile f = GgufFile.open(gemma3("F32", 0f))) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach(w::put);
            w.putString("gemma3.rope.scaling.type", "linear");
            w.putFloat32("gemma3.rope.scaling.factor", 8f);
            for (GgufTensorInfo t : f.tensors().values()) {
                w.addTensor(t.name(), t.shape(), t.type(), () -> f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            w.write(scaled);
        }
        check(scaled, "F32", 128, GEMMA3_TOLERANCE);
        try (TransformerModel a = TransformerModel.load(scaled, new ModelOptions(1, 128));
             TransformerModel b = TransformerModel.load(gemma3("F32", 0f), new ModelOptions(1, 128))) {
            assertEquals(0.125f, a.config().ropeFreqScale());
            assertFalse(java.util.Arrays.equals(lastLogits(a, PROMPT), lastLogits(b, PROMPT)), "the scaling acts");
        }
    }

    @Test
    void gemma3SlidingWindowChangesLaterPositions() {
        // the window matters: with it widened to the whole context the same weights give other logits at the end
        Path wide = dir.resolve("gemma3-wide.gguf");
        gemma3Builder("F32", 0f).slidingWindow(4096).build().write(wide);
        try (TransformerModel a = TransformerModel.load(gemma3("F32", 0f), new ModelOptions(1, 128));
             TransformerModel b = TransformerModel.load(wide, new ModelOptions(1, 128))) {
            int[] shortPrompt = java.util.Arrays.copyOf(PROMPT, 12);
            assertArrayEquals(lastLogits(a, shortPrompt), lastLogits(b, shortPrompt), "within the window");
            assertFalse(java.util.Arrays.equals(lastLogits(a, PROMPT), lastLogits(b, PROMPT)), "beyond the window");
        }
    }

    @ParameterizedTest(name = "tiny-phi3 {0}")
    @ValueSource(strings = {"F32", "Q8_0", "Q4_K_M"})
    void phi3MatchesLlamaCppWithShortFactors(String type) {
        Path file = phi3(type);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(24, f.getInt("phi3.rope.dimension_count", 0));
            assertEquals(32, f.getInt("phi3.attention.key_length", 0));
            assertNotNull(f.tensorInfo("blk.0.attn_qkv.weight"));
            assertNotNull(f.tensorInfo("rope_factors_long.weight"));
            assertEquals("longrope", f.getString("phi3.rope.scaling.type", null)); // synth labels it; llama.cpp's converter writes no type, and neither engine reads it
        }
        check(file, type, 128, LlamaCppConformanceTest.F32_TOLERANCE); // 128 (llama.cpp: padded to 256) is within the original context of 256
    }

    @Test
    void phi3MatchesLlamaCppWithLongFactors() {
        Path file = phi3("F32");
        check(file, "F32", 512, LlamaCppConformanceTest.F32_TOLERANCE); // beyond the original context: the long factors
        try (TransformerModel a = TransformerModel.load(file, new ModelOptions(1, 128));
             TransformerModel b = TransformerModel.load(file, new ModelOptions(1, 512))) {
            assertFalse(java.util.Arrays.equals(lastLogits(a, PROMPT), lastLogits(b, PROMPT)),
                    "the long and short factors give different models");
        }
    }

    /**
     * metagen and llama.cpp on the same weights in float32 (a dequantized copy for quantized files): distributions
     * within {@code bound} along llama.cpp's greedy path; greedy ids equal wherever llama.cpp's two best tokens are
     * further apart than the bound (with the F32 bound: everywhere), and metagen's free-running ids equal up to the
     * first such near-tie.
     */
    private static void check(Path file, String type, int context, double bound) {
        try (TransformerModel model = TransformerModel.load(file, new ModelOptions(1, context))) {
            Path exact = type.equals("F32") ? file : Conformance.dequantizedCopy(file);
            llama.load(exact, context, 1);
            List<LlamaCppModel.Step> ref = llama.probs(PROMPT, STEPS, TOP);
            Conformance.Report r = Conformance.compare(model, ref, PROMPT, bound);
            int[] ours = Conformance.greedy(model, PROMPT, STEPS);
            int[] theirs = ref.stream().mapToInt(LlamaCppModel.Step::token).toArray();
            int free = Golden.agreement(theirs, ours);
            System.out.printf("%s (context %d) vs llama.cpp on F32 weights: %s; free-running greedy agrees for %d%n",
                    file.getFileName(), context, r, free);
            assertTrue(r.maxProbDiff() < bound, r.toString());
            assertEquals(r.mismatches(), r.tieMismatches(), "a greedy mismatch outside the near-tie margin: " + r);
            if (bound == LlamaCppConformanceTest.F32_TOLERANCE) {
                assertEquals(STEPS, r.greedyAgreement(), r.toString());
                assertArrayEquals(theirs, ours, "free-running greedy tokens");
            } else {
                assertTrue(free >= r.greedyAgreement(), "free-running greedy ids agree for " + free + ", " + r);
                assertTrue(r.greedyAgreement() >= 16, "a stretch of greedy ids: " + r);
            }
        }
    }

    private static ModelSynthesizer.Builder gemma3Builder(String type, float softcap) {
        // head size 64 above n_embd / n_head = 32, as in the published Gemma 3 models
        return ModelSynthesizer.builder().preset("tiny-gemma3").embd(256).heads(8).headDim(64).kvHeads(2).ffn(512)
                .finalLogitSoftcap(softcap).type(type).seed(11);
    }

    private static Path gemma3(String type, float softcap) {
        Path file = dir.resolve("gemma3-" + type + "-cap" + (int) softcap + ".gguf");
        if (!file.toFile().exists()) {
            gemma3Builder(type, softcap).build().write(file);
        }
        return file;
    }

    private static Path phi3(String type) {
        Path file = dir.resolve("phi3-" + type + ".gguf");
        if (!file.toFile().exists()) {
            ModelSynthesizer.builder().preset("tiny-phi3").embd(256).heads(8).headDim(32).kvHeads(2).ffn(512)
                    .type(type).seed(7).build().write(file);
        }
        return file;
    }

    private static float[] lastLogits(TransformerModel model, int[] prompt) {
        try (ModelState s = model.newState()) {
            Logits l = model.forward(s, prompt);
            return l.values().clone();
        }
    }

    private static float max(float[] v) {
        float m = Float.NEGATIVE_INFINITY;
        for (float x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    private static int[] prompt(int n) {
        SplittableRandom r = new SplittableRandom(3);
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) {
            p[i] = 3 + r.nextInt(500);
        }
        return p;
    }
}
