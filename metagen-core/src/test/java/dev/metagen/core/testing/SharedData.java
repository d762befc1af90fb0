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

    /**
     * A writable copy of the model directory {@code models/NAME} in {@code into}: every file linked, except
     * {@code file}, which is written with {@code content} (e.g. another {@code generation_config.json}).
     *
     * @return the new directory, {@code into/NAME}
     */
    public static Path modelDirectoryWith(Path into, String name, String file, String content) throws java.io.IOException {
        Path src = model(name);
        Path dir = Files.createDirectories(into.resolve(name));
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals(file)) {
                    Files.createSymbolicLink(dir.resolve(f.getFileName()), f.toAbsolutePath());
                }
            }
        }
        Files.writeString(dir.resolve(file), content);
        return dir;
    }
}
