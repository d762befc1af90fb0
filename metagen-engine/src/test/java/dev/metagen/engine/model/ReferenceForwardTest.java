package dev.metagen.engine.model;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.metagen.engine.gguf.GgufValue;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TransformerModel} logits against the double-precision {@link ReferenceTransformer} on tiny synthesized models
 * of each architecture (GQA in all; adjacent-pair rope with llama3 factors and an untied output in tiny-llama;
 * NEOX rope with QKV bias in tiny-qwen2; NEOX rope, q/k norm and head_dim != n_embd/n_head in tiny-qwen3) and on
 * stories260K, and on quantized variants (the reference reads the dequantized weights, so the engine's quantized
 * dot products must agree with float64 math on the same values), at every position of a 12-token sequence fed as a 5-token prefill then one token at a time.
 */
class ReferenceForwardTest {
    /** Max |engine - reference| over all logits; the synthesized logits have a standard deviation of about 16. */
    static final double TOLERANCE = 5e-4;
    static final int[] SEQUENCE = {1, 300, 17, 42, 511, 260, 5, 99, 400, 3, 128, 77};

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-qwen2", "tiny-qwen3", "stories260K", "tiny-llama:Q8_0",
            "tiny-qwen2:Q5_1", "tiny-qwen3:Q4_K_M", "tiny-llama:Q6_K", "tiny-qwen2:linear-rope"})
    void engineMatchesDoublePrecisionReference(String which) {
        // name[:type]; quantized variants use 256-wide rows so that K-quant blocks fit
        String preset = which.split(":")[0];
        String variant = which.contains(":") ? which.split(":")[1] : "F32";
        boolean linearRope = variant.equals("linear-rope");
        String type = linearRope ? "F32" : variant;
        Path file = which.equals("stories260K") ? SharedData.stories260k() : dir.resolve(preset + "-" + type + ".gguf");
        if (!which.equals("stories260K")) {
            ModelSynthesizer.Builder b = ModelSynthesizer.builder().preset(preset).type(type).seed(7);
            if (!type.equals("F32")) {
                b.embd(256).ffn(512);
            }
            b.build().write(file);
            if (linearRope) {
                file = ModelStateTest.copyWithMetadata(file, dir.resolve("linear.gguf"), Map.of(
                        "qwen2.rope.scaling.type", GgufValue.of("linear"), "qwen2.rope.scaling.factor", GgufValue.ofFloat32(4f)));
            }
        }
        ReferenceTransformer ref = new ReferenceTransformer(file);
        try (TransformerModel model = TransformerModel.load(file, new ModelOptions(2, 64))) {
            ModelState s = model.newState();
            double worst = 0;
            int prefill = 5;
            int[] first = java.util.Arrays.copyOf(SEQUENCE, prefill);
            worst = Math.max(worst, maxDiff(model.forward(s, first), ref.logits(first)));
            for (int n = prefill + 1; n <= SEQUENCE.length; n++) {
                Logits l = model.forward(s, SEQUENCE[n - 1]);
                worst = Math.max(worst, maxDiff(l, ref.logits(java.util.Arrays.copyOf(SEQUENCE, n))));
            }
            System.out.printf("%s: max |float32 engine - float64 reference| = %.2e%n", which, worst);
            assertTrue(worst < TOLERANCE, which + ": max abs logit difference " + worst);
        }
    }

    static double maxDiff(Logits l, double[] ref) {
        double m = 0;
        for (int i = 0; i < ref.length; i++) {
            m = Math.max(m, Math.abs(l.values()[i] - ref[i]));
        }
        return m;
    }
}
