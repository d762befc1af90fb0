package dev.metagen.engine.model;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.testing.LanguageModelConformance;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The SPI conformance suite on the pure-Java engine (stories260K). */
class TransformerModelConformanceTest extends LanguageModelConformance {
    private static TransformerModel model;

    @BeforeAll
    static void load() {
        model = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 256));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Override
    protected LanguageModel model() {
        return model;
    }

    /** Chunked and batched passes take the GEMM path, single tokens the dot path: sums in another order. */
    @Override
    protected double tolerance() {
        return 1e-4;
    }
}
