package dev.metagen.engine.hf;

import dev.metagen.core.MetagenException;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generation_config.json} becomes the model's generation defaults: on the directory, and through
 * {@code convert} as the {@code general.sampling.*} keys llama.cpp's converter writes (gguf-py {@code Metadata.load}).
 */
class GenerationDefaultsTest {
    @TempDir
    Path tmp;

    /** TinyStories-656K's files, with {@code generation_config} in place of its own generation_config.json. */
    static Path tinyStoriesWith(Path into, String generationConfig) throws IOException {
        return SharedData.modelDirectoryWith(into, "tinystories-656k", "generation_config.json", generationConfig);
    }

    static final String EVERY_FIELD = """
            {"bos_token_id": 1, "eos_token_id": 2, "do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": 20,
             "min_p": 0.05, "repetition_penalty": 1.1, "penalty_last_n": 48, "xtc_probability": 0.3, "xtc_threshold": 0.15,
             "mirostat": 1, "mirostat_tau": 4.0, "mirostat_eta": 0.2, "sequence": "top_k;top_p;min_p;temperature"}
            """;

    @Test
    void everyFieldActsOnTheDirectoryAndSurvivesConversion() throws IOException {
        Path dir = tinyStoriesWith(tmp, EVERY_FIELD);
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("samplers", "top_k;top_p;min_p;temperature");
        expected.put("top_k", 20);
        expected.put("top_p", 0.9); // stored as float32 (as the converter stores it), read back as its shortest decimal
        expected.put("min_p", 0.05);
        expected.put("xtc_probability", 0.3);
        expected.put("xtc_threshold", 0.15);
        expected.put("temperature", 0.6);
        expected.put("repeat_last_n", 48);
        expected.put("repeat_penalty", 1.1);
        expected.put("mirostat", 1);
        expected.put("mirostat_tau", 4.0);
        expected.put("mirostat_eta", 0.2);
        try (TransformerModel m = TransformerModel.load(dir, new ModelOptions(1, 64))) {
            assertEquals(expected, m.generationDefaults());
        }
        Path gguf = tmp.resolve("converted.gguf");
        HfConverter.convert(dir, gguf, "f32", false);
        try (GgufFile f = GgufFile.open(gguf)) {
            assertEquals(0.6f, f.metadata().get("general.sampling.temp").value());
            assertEquals(20, f.metadata().get("general.sampling.top_k").value());
            assertEquals("top_k;top_p;min_p;temperature", f.getString("general.sampling.sequence", null));
        }
        try (TransformerModel m = TransformerModel.load(gguf, new ModelOptions(1, 64))) {
            assertEquals(expected, m.generationDefaults());
        }
    }

    @Test
    void aModelWithoutSamplingDefaultsHasNone() throws IOException {
        // TinyStories' own generation_config.json names only its special tokens
        try (TransformerModel m = TransformerModel.load(SharedData.model("tinystories-656k"), new ModelOptions(1, 64))) {
            assertTrue(m.generationDefaults().isEmpty(), m.generationDefaults().toString());
        }
        // as the converter: a value of the wrong JSON type is not written (top_k 20.5 is not an integer)
        Path dir = tinyStoriesWith(tmp, "{\"top_k\": 20.5, \"temperature\": \"hot\"}");
        try (TransformerModel m = TransformerModel.load(dir, new ModelOptions(1, 64))) {
            assertTrue(m.generationDefaults().isEmpty(), m.generationDefaults().toString());
        }
    }

    @Test
    void aBadSamplingValueFailsTheLoadNamingTheFile() throws IOException {
        Path dir = tinyStoriesWith(tmp, "{\"top_p\": 0.9}");
        Path gguf = tmp.resolve("converted.gguf");
        HfConverter.convert(dir, gguf, "f32", false);
        try (TransformerModel m = TransformerModel.load(gguf, new ModelOptions(1, 64))) {
            assertEquals(Map.of("top_p", 0.9), m.generationDefaults());
        }
        Path bad = tmp.resolve("bad.gguf");
        // the same file with general.sampling.top_k written as a string, as a hand-edited file could have it
        try (GgufFile f = GgufFile.open(gguf)) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> {
                if (!k.equals("general.alignment")) {
                    w.put(k, v);
                }
            });
            w.put("general.sampling.top_k", GgufValue.of("twenty"));
            for (GgufTensorInfo t : f.tensors().values()) {
                w.addTensor(t.name(), t.shape(), t.type(), () -> f.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
            w.write(bad);
        }
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(bad, new ModelOptions(1, 64)));
        assertEquals(bad + ": model metadata general.sampling.top_k: 'twenty' is not an integer", e.getMessage());
    }
}
