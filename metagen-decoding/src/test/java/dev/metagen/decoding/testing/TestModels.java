package dev.metagen.decoding.testing;

import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;

import java.nio.file.Path;

/** The real models the decoding tests run on (read-only, located by {@link SharedData}). */
public final class TestModels {
    private TestModels() {}

    public static Path stories260kPath() {
        return SharedData.stories260k();
    }

    /** stories260K on one thread (the tests compare numbers, one thread keeps them independent of the machine). */
    public static TransformerModel stories260k() {
        return TransformerModel.load(stories260kPath(), new ModelOptions(1, 512));
    }
}
