package dev.metagen.llamacpp;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.testing.LanguageModelConformance;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/** The SPI conformance suite on the llama.cpp backend (stories260K). */
class LlamaCppConformanceTest extends LanguageModelConformance {
    private static LlamaCppModel model;

    @BeforeAll
    static void load() {
        if (!LlamaCppModel.libraryAvailable()) {
            Assumptions.abort("llama.cpp library not found (run ./run-tests once)");
        }
        model = LlamaCppModel.load(SharedData.stories260k(), LlamaCppOptions.DEFAULTS.withContextLength(256).withThreads(1));
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Override
    protected LanguageModel model() {
        return model;
    }

    /** Other batch compositions may take other ggml kernels (measured differences are around 1e-6). */
    @Override
    protected double tolerance() {
        return LlamaCppModelTest.BATCH_TOLERANCE;
    }
}
