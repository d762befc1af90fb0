package dev.metagen.llamacpp;

import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.hf.HfConverter;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model's generation defaults as llama.cpp itself reads them ({@code llama_model_meta_val_str} on the
 * {@code general.sampling.*} keys, as its {@code common_init_sampler_from_model} does) equal the pure-Java engine's, on a
 * file converted from a directory with a {@code generation_config.json}.
 */
class LlamaCppGenerationDefaultsTest {
    @TempDir
    Path tmp;

    @Test
    void bothBackendsReadTheSameDefaultsFromAConvertedFile() throws IOException {
        Assumptions.assumeTrue(LlamaCppModel.libraryAvailable(), "llama.cpp library not found: run ./run-tests once");
        Path dir = SharedData.modelDirectoryWith(tmp, "tinystories-656k", "generation_config.json", """
                {"temperature": 0.6, "top_p": 0.9, "top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1,
                 "penalty_last_n": 48, "xtc_probability": 0.3, "xtc_threshold": 0.15, "mirostat": 1, "mirostat_tau": 4.0,
                 "mirostat_eta": 0.2, "sequence": "top_k;top_p;min_p;temperature"}
                """);
        Path gguf = tmp.resolve("converted.gguf");
        HfConverter.convert(dir, gguf, "f32", false);
        try (TransformerModel engine = TransformerModel.load(gguf, new ModelOptions(1, 64));
             LlamaCppModel llama = LlamaCppModel.load(gguf, LlamaCppOptions.DEFAULTS.withContextLength(64).withThreads(1))) {
            assertEquals(12, engine.generationDefaults().size(), engine.generationDefaults().toString());
            assertEquals(engine.generationDefaults(), llama.generationDefaults());
        }
        try (LlamaCppModel plain = LlamaCppModel.load(SharedData.stories260k(), LlamaCppOptions.DEFAULTS.withContextLength(64).withThreads(1))) {
            assertTrue(plain.generationDefaults().isEmpty(), plain.generationDefaults().toString());
        }
    }
}
