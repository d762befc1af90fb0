package dev.metagen.decoding.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.testing.SharedData;
import dev.metagen.llamacpp.testing.TestBackend;

import java.nio.file.Path;

/**
 * The real models the decoding tests run on (read-only, located by {@link SharedData}), on the backend that
 * {@link TestBackend} chooses: the pure-Java engine, or llama.cpp in the second surefire run.
 */
public final class TestModels {
    private TestModels() {}

    public static Path stories260kPath() {
        return SharedData.stories260k();
    }

    /** stories260K on one thread (the tests compare numbers, one thread keeps them independent of the machine). */
    public static LanguageModel stories260k() {
        return TestBackend.stories260k();
    }

    /** Another GGUF file (a synthesized draft or amateur model) on the same backend, one thread, 512 positions. */
    public static LanguageModel load(Path gguf) {
        return TestBackend.load(gguf);
    }
}
