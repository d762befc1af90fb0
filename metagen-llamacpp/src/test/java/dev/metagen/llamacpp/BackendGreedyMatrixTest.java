package dev.metagen.llamacpp;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The architecture matrix across backends: 256 greedy tokens of the pure-Java engine and of llama.cpp are the same
 * ids on stories260K and on synthesized llama, qwen2 and qwen3 files (F32 weights; llama.cpp with an F32 KV cache
 * and without flash attention, so only summation order differs).
 */
class BackendGreedyMatrixTest {
    static final int TOKENS = 256;
    static final int[] PROMPT = {1, 300, 17, 42, 511, 260};

    @TempDir
    static Path dir;

    @BeforeAll
    static void requireLibrary() {
        if (!LlamaCppModel.libraryAvailable()) {
            Assumptions.abort("llama.cpp library not found (run ./run-tests once)");
        }
    }

    private static Path file(String name) {
        if (name.equals("stories260K")) {
            return SharedData.stories260k();
        }
        Path f = dir.resolve(name + ".gguf");
        ModelSynthesizer.builder().preset(name).type("F32").seed(11).build().write(f);
        return f;
    }

    private static int[] greedy(LanguageModel m, int n) {
        int[] out = new int[n];
        try (ModelState s = m.newState()) {
            Logits l = m.forward(s, PROMPT);
            for (int i = 0; i < n; i++) {
                out[i] = l.argmax();
                if (i + 1 < n) {
                    l = m.forward(s, out[i]);
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-llama", "tiny-qwen2", "tiny-qwen3"})
    void greedyIdsAreEqualOnBothBackends(String name) {
        Path f = file(name);
        int[] engine;
        String arch;
        try (TransformerModel m = TransformerModel.load(f, new ModelOptions(1, 512))) {
            engine = greedy(m, TOKENS);
            arch = m.info().architecture();
        }
        try (LlamaCppModel m = LlamaCppModel.load(f, LlamaCppOptions.DEFAULTS.withContextLength(512).withThreads(1))) {
            assertEquals(arch, m.info().architecture());
            int[] llama = greedy(m, TOKENS);
            for (int i = 0; i < TOKENS; i++) {
                assertEquals(engine[i], llama[i], name + ": first difference at token " + i);
            }
        }
    }
}
