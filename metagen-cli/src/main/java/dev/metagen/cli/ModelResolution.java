package dev.metagen.cli;

import dev.metagen.core.MetagenException;

import java.nio.file.Path;

/** Turns a model argument into a local file. */
final class ModelResolution {
    private ModelResolution() {}

    static Path resolve(String spec) {
        if (spec.startsWith("hf:")) {
            String home = metagenHome();
            Path p = Path.of(home, "models").resolve(spec.substring(3));
            if (!p.toFile().isFile()) {
                throw new MetagenException("model " + spec + " is not in the cache " + p);
            }
            return p;
        }
        return Path.of(spec);
    }

    /** {@code -Dmetagen.home}, else {@code $METAGEN_HOME}, else {@code ~/.metagen}. */
    static String metagenHome() {
        String h = System.getProperty("metagen.home");
        if (h == null) {
            h = System.getenv("METAGEN_HOME");
        }
        return h != null ? h : System.getProperty("user.home") + "/.metagen";
    }
}
