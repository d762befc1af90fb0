package dev.metagen.decoding.testing;

import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;

import java.nio.file.Files;
import java.nio.file.Path;

/** The real models the decoding tests run on (read-only, in {@code ../shared/models}). */
public final class TestModels {
    private TestModels() {}

    public static Path shared() {
        String p = System.getProperty("metagen.shared");
        Path root = p != null ? Path.of(p) : Path.of("..", "..", "shared");
        if (!Files.isDirectory(root)) {
            root = Path.of("..", "shared");
        }
        return root.toAbsolutePath().normalize();
    }

    public static Path stories260kPath() {
        return shared().resolve("models/stories260K.gguf");
    }

    /** stories260K on one thread (the tests compare numbers, one thread keeps them independent of the machine). */
    public static TransformerModel stories260k() {
        return TransformerModel.load(stories260kPath(), new ModelOptions(1, 512));
    }
}
