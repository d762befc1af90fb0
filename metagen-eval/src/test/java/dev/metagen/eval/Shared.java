package dev.metagen.eval;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The read-only ../shared folder of test data (models, datasets). */
public final class Shared {
    private Shared() {
    }

    public static Path path(String relative) {
        Path p = Path.of(System.getProperty("metagen.shared", "../shared")).resolve(relative);
        assumeTrue(Files.exists(p), "needs " + p);
        return p;
    }
}
