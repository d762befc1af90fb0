package dev.metagen.engine.testing;

import dev.metagen.core.testing.SharedData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Arrays;

/** Golden outputs published in {@code shared/models/README.md}, read from there at test time (never copied). */
public final class Golden {
    private Golden() {}

    /** The 256 greedy token ids after BOS for stories260K.gguf (float64 llama2.c re-implementation). */
    public static int[] stories260kGreedy() {
        String readme;
        try {
            readme = Files.readString(SharedData.models().resolve("README.md"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String marker = "These are the first 256 generated token ids after BOS.";
        int at = readme.indexOf(marker);
        if (at < 0) {
            throw new IllegalStateException("golden ids not found in shared/models/README.md");
        }
        int open = readme.indexOf("```", at) + 3;
        int close = readme.indexOf("```", open);
        int[] ids = Arrays.stream(readme.substring(open, close).trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
        if (ids.length != 256) {
            throw new IllegalStateException("expected 256 golden ids in shared/models/README.md, found " + ids.length);
        }
        return ids;
    }

    /** Length of the common prefix of two token sequences. */
    public static int agreement(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return n;
    }
}
