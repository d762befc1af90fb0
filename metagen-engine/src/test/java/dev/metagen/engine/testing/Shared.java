package dev.metagen.engine.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only test data in {@code ../shared} (models, tokenizer vectors, datasets). */
public final class Shared {
    private Shared() {}

    public static Path root() {
        String p = System.getProperty("metagen.shared");
        if (p == null) {
            p = System.getenv("METAGEN_SHARED");
        }
        Path root = p != null ? Path.of(p) : Path.of("..", "shared");
        if (!Files.isDirectory(root)) {
            // modules run with their own directory as working directory
            root = Path.of("..", "..", "shared");
        }
        return root.toAbsolutePath().normalize();
    }

    public static Path models() {
        return root().resolve("models");
    }

    public static Path stories260k() {
        return models().resolve("stories260K.gguf");
    }

    public static Path tokenizers() {
        return root().resolve("tokenizers");
    }

    public static Path datasets() {
        return root().resolve("datasets");
    }
}
