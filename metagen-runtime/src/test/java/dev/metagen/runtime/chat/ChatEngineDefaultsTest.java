package dev.metagen.runtime.chat;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The chat adapters' parameters (LangChain4j, Spring AI) take the model's generation defaults where the caller leaves a
 * setting out, and the caller's value where it gives one.
 */
class ChatEngineDefaultsTest {
    @TempDir
    Path tmp;

    @Test
    void settingsLeftOutTakeTheModelsDefaults() throws Exception {
        Path dir = SharedData.modelDirectoryWith(tmp, "tinystories-656k", "generation_config.json",
                "{\"temperature\": 0.6, \"top_p\": 0.9, \"top_k\": 20, \"repetition_penalty\": 1.2}");
        try (TransformerModel m = TransformerModel.load(dir, new ModelOptions(1, 128));
             ChatEngine engine = ChatEngine.builder().model(m).build()) {
            GenerationParams none = engine.params(ChatSettings.NONE);
            assertEquals(0.6, none.temperature());
            assertEquals(0.9, none.topP());
            assertEquals(20, none.topK());
            assertEquals(1.2, none.sampling().repeatPenalty());
            GenerationParams given = engine.params(new ChatSettings(8, 0.0, null, 5, null, null, List.of(), 1L, null, false));
            assertEquals(0.0, given.temperature());
            assertEquals(5, given.topK());
            assertEquals(0.9, given.topP());
            assertEquals(1.2, given.sampling().repeatPenalty());
        }
    }
}
