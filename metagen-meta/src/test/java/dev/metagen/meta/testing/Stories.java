package dev.metagen.meta.testing;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.ModelState;
import dev.metagen.llamacpp.testing.TestBackend;

import java.nio.file.Path;

/**
 * The real stories260K model from ../shared (never downloaded by tests), on one thread, on the backend that
 * {@link TestBackend} chooses (the pure-Java engine, or llama.cpp in the second surefire run).
 */
public final class Stories {
    private Stories() {
    }

    public static Path path() {
        return SharedData.stories260k();
    }

    public static LanguageModel load() {
        return TestBackend.stories260k();
    }

    /** Teacher-forced log-probability of {@code continuation} after {@code prompt}, from the model directly. */
    public static double logprob(LanguageModel m, int[] prompt, int[] continuation) {
        double s = 0;
        try (ModelState st = m.newState()) {
            var logits = m.forward(st, prompt);
            for (int t : continuation) {
                s += logits.logProbabilities()[t];
                logits = m.forward(st, t);
            }
        }
        return s;
    }
}
