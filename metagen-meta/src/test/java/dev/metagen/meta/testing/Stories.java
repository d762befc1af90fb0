package dev.metagen.meta.testing;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.ModelState;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;

import java.nio.file.Path;

/** The real stories260K model from ../shared (never downloaded by tests), on one thread. */
public final class Stories {
    private Stories() {
    }

    public static Path path() {
        return SharedData.stories260k();
    }

    public static TransformerModel load() {
        return TransformerModel.load(path(), new ModelOptions(1, 512));
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
