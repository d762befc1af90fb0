package dev.metagen.engine.conformance;

import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.quantize.Quantizer;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.testing.LlamaCppModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;

import static dev.metagen.engine.conformance.LlamaCppConformanceTest.F32_TOLERANCE;
import static dev.metagen.engine.conformance.LlamaCppConformanceTest.PROMPT;
import static dev.metagen.engine.conformance.LlamaCppConformanceTest.STEPS;
import static dev.metagen.engine.conformance.LlamaCppConformanceTest.TOLERANCE;
import static dev.metagen.engine.conformance.LlamaCppConformanceTest.TOP;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Files written by {@link Quantizer} from a synthesized F32 model, run by llama.cpp (node-llama-cpp): compared as in
 * {@link LlamaCppConformanceTest}, exactly (llama.cpp on the dequantized F32 copy, identical greedy tokens) and on
 * the quantized file itself (llama.cpp loads it; within the per-type bound, mismatches only at near-ties).
 */
class QuantizeConformanceTest {
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

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"tiny-llama, Q4_K_M", "tiny-qwen2, Q8_0", "tiny-qwen3, Q6_K"})
    void quantizedFileMatchesLlamaCpp(String preset, String type) {
        Path source = dir.resolve(preset + "-F32.gguf");
        ModelSynthesizer.builder().preset(preset).embd(256).heads(8).headDim(32).kvHeads(2).ffn(512)
                .type("F32").seed(11).build().write(source);
        Path file = dir.resolve(preset + "-" + type + ".gguf");
        Quantizer.quantize(source, file, type, false);
        try (TransformerModel model = TransformerModel.load(file, new ModelOptions(1, 128))) {
            int[] ours = Conformance.greedy(model, PROMPT, STEPS);

            llama.load(Conformance.dequantizedCopy(file), 128, 1);
            List<LlamaCppModel.Step> ref = llama.probs(PROMPT, STEPS, TOP);
            Conformance.Report r = Conformance.compare(model, ref, PROMPT, F32_TOLERANCE);
            System.out.printf("quantized %s %s vs llama.cpp on dequantized F32 weights: %s%n", preset, type, r);
            assertTrue(r.maxProbDiff() < F32_TOLERANCE, r.toString());
            assertArrayEquals(ref.stream().mapToInt(LlamaCppModel.Step::token).toArray(), ours, "free-running greedy tokens");

            llama.load(file, 128, 1);
            List<LlamaCppModel.Step> q = llama.probs(PROMPT, STEPS, TOP);
            Conformance.Report rq = Conformance.compare(model, q, PROMPT, 2 * TOLERANCE.get(type));
            System.out.printf("quantized %s %s vs llama.cpp on the same file: %s%n", preset, type, rq);
            assertTrue(rq.maxProbDiff() < TOLERANCE.get(type), rq.toString());
            assertEquals(rq.mismatches(), rq.tieMismatches(), "a greedy mismatch outside the near-tie margin: " + rq);
        }
    }
}
