package dev.metagen.engine.tokenizer;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The shared vocab-only GGUF files, each loaded once per test JVM. */
final class TestVocabs {
    private TestVocabs() {}

    /** Vocabularies with llama.cpp .inp/.out vectors and a supported tokenizer model. */
    static final List<String> WITH_VECTORS = List.of("llama-spm", "phi-3", "gpt-2", "deepseek-coder", "deepseek-llm",
            "falcon", "mpt", "refact", "starcoder");

    private static final Map<Path, Tokenizer> CACHE = new ConcurrentHashMap<>();

    static Path vocabPath(String name) {
        return SharedData.tokenizers().resolve("ggml-vocab-" + name + ".gguf");
    }

    static Tokenizer vocab(String name) {
        return load(vocabPath(name));
    }

    static Tokenizer load(Path path) {
        return CACHE.computeIfAbsent(path, p -> {
            try (GgufFile f = GgufFile.open(p)) {
                return GgufTokenizers.fromGguf(f);
            }
        });
    }
}
