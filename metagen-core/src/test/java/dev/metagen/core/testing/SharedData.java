package dev.metagen.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The read-only test data beside the checkout ({@code ../shared}: models, tokenizers, datasets), shared by the tests
 * of every module through metagen-core's test jar.
 */
public final class SharedData {
    private SharedData() {
    }

    /**
     * The data folder: the {@code metagen.shared} system property (the build sets it), else the
     * {@code METAGEN_SHARED} environment variable, else {@code ../shared} seen from the checkout or from a module.
     */
    public static Path root() {
        String p = System.getProperty("metagen.shared");
        if (p == null) {
            p = System.getenv("METAGEN_SHARED");
        }
        Path root = p != null ? Path.of(p) : Path.of("..", "shared");
        if (p == null && !Files.isDirectory(root)) {
            // surefire runs a module's tests with the module as working directory
            root = Path.of("..", "..", "shared");
        }
        root = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("missing test data folder " + root + " (set -Dmetagen.shared=DIR)");
        }
        return root;
    }

    /** A file or folder under the data folder, which must exist. */
    public static Path path(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException("missing test data " + p);
        }
        return p;
    }

    /** A model file in {@code models/}, e.g. {@code model("stories260K.gguf")}. */
    public static Path model(String file) {
        return path("models/" + file);
    }

    /** The real tiny Llama checkpoint most tests run on. */
    public static Path stories260k() {
        return model("stories260K.gguf");
    }

    public static Path models() {
        return path("models");
    }

    public static Path tokenizers() {
        return path("tokenizers");
    }

    public static Path datasets() {
        return path("datasets");
    }
}
