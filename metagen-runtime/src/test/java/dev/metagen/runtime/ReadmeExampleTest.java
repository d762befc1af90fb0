package dev.metagen.runtime;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.meta.spec.StrategySpecs;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's library example, as written there (only the model path differs), runs and does what it says. */
class ReadmeExampleTest {
    @Test
    void theLibraryExampleRunsAsWritten() throws Exception {
        Path modelPath = SharedData.stories260k();
        String readme = Files.readString(Path.of(System.getProperty("user.dir")).getParent().resolve("README.md"));
        assertTrue(readme.contains("try (TransformerModel model = TransformerModel.load(Path.of(\"stories260K.gguf\"))) {"));
        assertTrue(readme.contains("GenerationParams params = new GenerationParams(32, 0.8, 40, 0.95, 1, true, List.of());"));
        Generation answer;
        // --- README
        try (TransformerModel model = TransformerModel.load(modelPath)) {
            StrategySpecs specs = new StrategySpecs(new LeafGenerators(model));
            StrategySpecs.Strategy vote = specs.parse("""
                    {"type": "majority_vote", "n": 8, "extractor": {"type": "last_number"},
                     "inner": {"type": "sample", "temperature": 0.8}}""");
            GenerationParams params = new GenerationParams(32, 0.8, 40, 0.95, 1, true, List.of());
            answer = vote.generator().generate(Prompt.of("Tom has 3 apples and buys 2 more. He has"), params);
            System.out.println(answer.text() + "  " + answer.cost());   // the chosen sample and what the vote spent
        }
        // --- end
        assertEquals("majority_vote", answer.trace().get("strategy"));
        assertEquals(8, ((List<?>) answer.trace().get("candidates")).size());
        assertTrue(answer.cost().generatedTokens() > 0 && answer.cost().generatedTokens() <= 8 * 32);
    }
}
