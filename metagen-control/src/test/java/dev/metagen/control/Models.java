package dev.metagen.control;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.LanguageModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.llamacpp.testing.TestBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test models: the real stories260K checkpoint and a synthesized random-weight tiny Llama carrying the biggest
 * BPE vocabulary in ../shared/tokenizers (deepseek-llm, 102400 tokens; no 128k Llama 3 vocabulary file is
 * available there), loaded once per test JVM on the backend that {@link TestBackend} chooses (the pure-Java
 * engine, or llama.cpp in the second surefire run).
 */
final class Models {
    private static LanguageModel stories;
    private static LanguageModel bigVocab;

    private Models() {}

    static Path datasets() {
        return SharedData.datasets();
    }

    static synchronized LanguageModel stories() {
        if (stories == null) {
            stories = TestBackend.stories260k();
        }
        return stories;
    }

    static Path bigVocabTokenizerFile() {
        return SharedData.tokenizers().resolve("ggml-vocab-deepseek-llm.gguf");
    }

    static synchronized LanguageModel bigVocab() {
        if (bigVocab == null) {
            try {
                Path dir = Files.createTempDirectory("metagen-control");
                Path file = dir.resolve("tiny-deepseek-vocab.gguf");
                ModelSynthesizer.builder().preset("tiny-llama").tokenizerFrom(bigVocabTokenizerFile()).seed(7).build().write(file);
                bigVocab = TestBackend.load(file);
                file.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return bigVocab;
    }
}
