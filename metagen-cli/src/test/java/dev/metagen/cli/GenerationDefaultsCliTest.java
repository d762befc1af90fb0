package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.metagen.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model's {@code generation_config.json} defaults act in every front end that samples ({@code generate}, its
 * {@code --parallel}, {@code --beams} and {@code --strategy} runs, {@code chat}, both backends), and a flag the user gives overrides
 * each one. TinyStories-656K with greedy decoding and a repetition penalty of 1.5 as its defaults: the penalty changes
 * the greedy text within 48 tokens, so every comparison below can fail.
 */
class GenerationDefaultsCliTest {
    static final Path TINYSTORIES = SharedData.model("tinystories-656k");

    @TempDir
    static Path tmp;
    static Path withDefaults;

    @BeforeAll
    static void directory() throws Exception {
        withDefaults = SharedData.modelDirectoryWith(tmp, "tinystories-656k", "generation_config.json",
                "{\"bos_token_id\": 1, \"eos_token_id\": 2, \"temperature\": 0.0, \"repetition_penalty\": 1.5}");
    }

    static JsonNode generate(Path model, String... flags) throws Exception {
        List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "Once upon a time",
                "-n", "48", "--json"));
        args.addAll(List.of(flags));
        CliTest.Result r = run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        return r.json();
    }

    @Test
    void theModelsDefaultsActWhereNoFlagIsGivenAndEachFlagOverridesItsField() throws Exception {
        JsonNode plainGreedy = generate(TINYSTORIES, "--temperature", "0");
        assertFalse(plainGreedy.has("generation_defaults"), "TinyStories' own generation_config.json sets no sampling field");
        JsonNode penalised = generate(TINYSTORIES, "--temperature", "0", "--repeat-penalty", "1.5");
        assertNotEquals(plainGreedy.get("tokens"), penalised.get("tokens"), "the penalty changes the greedy text");

        // no flag: the model's temperature 0 and repetition penalty 1.5, whatever the seed
        JsonNode byDefault = generate(withDefaults, "--seed", "1");
        assertEquals(Map.of("temperature", 0.0, "repeat_penalty", 1.5),
                Json.MAPPER.convertValue(byDefault.get("generation_defaults"), Map.class));
        assertEquals(penalised.get("tokens"), byDefault.get("tokens"));
        assertEquals(penalised.get("tokens"), generate(withDefaults, "--seed", "2").get("tokens"));

        // a flag overrides its field only
        JsonNode noPenalty = generate(withDefaults, "--repeat-penalty", "1");
        assertEquals(Map.of("temperature", 0.0), Json.MAPPER.convertValue(noPenalty.get("generation_defaults"), Map.class));
        assertEquals(plainGreedy.get("tokens"), noPenalty.get("tokens"));
        JsonNode sampled = generate(withDefaults, "--temperature", "1", "--seed", "5");
        assertEquals(Map.of("repeat_penalty", 1.5), Json.MAPPER.convertValue(sampled.get("generation_defaults"), Map.class));
        assertEquals(generate(TINYSTORIES, "--temperature", "1", "--seed", "5", "--repeat-penalty", "1.5").get("tokens"),
                sampled.get("tokens"));

        // --parallel samples through the same defaults: greedy, so every sequence is the penalised greedy text
        JsonNode parallel = generate(withDefaults, "--parallel", "3");
        for (JsonNode s : parallel.get("sequences")) {
            assertEquals(penalised.get("text").asText(), s.get("text").asText());
        }

        // beam search applies the penalty as Hugging Face's does (a logits processor before ranking)
        JsonNode beams = generate(withDefaults, "--beams", "2");
        assertEquals(Map.of("temperature", 0.0, "repeat_penalty", 1.5), Json.MAPPER.convertValue(beams.get("generation_defaults"), Map.class));
        assertEquals(generate(TINYSTORIES, "--beams", "2", "--repeat-penalty", "1.5").get("tokens"), beams.get("tokens"));
        assertNotEquals(generate(TINYSTORIES, "--beams", "2").get("tokens"), beams.get("tokens"));
        // contrastive search takes its settings from its own flags only
        assertFalse(generate(withDefaults, "--contrastive-alpha", "0.6").has("generation_defaults"));
    }

    @Test
    void aStrategysLeavesInheritTheDefaults() throws Exception {
        JsonNode penalised = generate(TINYSTORIES, "--temperature", "0", "--repeat-penalty", "1.5");
        JsonNode s = generate(withDefaults, "--strategy",
                "{\"type\":\"best_of_n\",\"n\":2,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"mean_logprob\"}}");
        assertEquals(Map.of("temperature", 0.0, "repeat_penalty", 1.5), Json.MAPPER.convertValue(s.get("generation_defaults"), Map.class));
        assertEquals(penalised.get("text").asText(), s.get("text").asText());
        // a leaf's own field beats the model's default, as a flag does
        JsonNode leaf = generate(withDefaults, "--strategy", "{\"type\":\"sample\",\"repeat_penalty\":1}");
        assertEquals(generate(TINYSTORIES, "--temperature", "0").get("text").asText(), leaf.get("text").asText());
        // a beam leaf applies the model's penalty like the flag's
        assertEquals(generate(TINYSTORIES, "--repeat-penalty", "1.5", "--strategy", "{\"type\":\"beam\",\"beams\":2}").get("text"),
                generate(withDefaults, "--strategy", "{\"type\":\"beam\",\"beams\":2}").get("text"));
        // a contrastive leaf under a model whose defaults set a penalty says where the penalty may come from
        CliTest.Result contrastive = run("generate", "--model", withDefaults.toString(), "--prompt", "x", "-n", "4",
                "--strategy", "{\"type\":\"contrastive\",\"k\":3,\"alpha\":0.6}");
        assertEquals(1, contrastive.exit(), contrastive.out());
        assertTrue(contrastive.err().contains("cannot apply penalties") && contrastive.err().contains("the model's generation defaults"),
                contrastive.err());
    }

    @Test
    void chatAnswersWithTheDefaultsAndSaysSo() throws Exception {
        CliTest.Result withModel = CliTest.runWithInput("Tell me a story.\n/exit\n", "chat", "--model", withDefaults.toString(),
                "-n", "24");
        assertEquals(0, withModel.exit(), withModel.err());
        assertTrue(withModel.err().contains("[generation defaults of ") && withModel.err().contains("temperature 0.0")
                && withModel.err().contains("repeat_penalty 1.5"), withModel.err());
        CliTest.Result explicit = CliTest.runWithInput("Tell me a story.\n/exit\n", "chat", "--model", TINYSTORIES.toString(),
                "-n", "24", "--temperature", "0", "--repeat-penalty", "1.5");
        assertEquals(0, explicit.exit(), explicit.err());
        assertEquals(explicit.out(), withModel.out());
        CliTest.Result plain = CliTest.runWithInput("Tell me a story.\n/exit\n", "chat", "--model", TINYSTORIES.toString(),
                "-n", "24", "--temperature", "0");
        assertNotEquals(plain.out(), withModel.out(), "the penalty changes the answer");
    }

    @Test
    void theLlamaCppBackendReadsTheSameDefaultsFromTheConvertedFile() throws Exception {
        Path gguf = tmp.resolve("tinystories-greedy.gguf");
        if (!Files.exists(gguf)) {
            assertEquals(0, run("convert", withDefaults.toString(), gguf.toString(), "--type", "f32").exit());
        }
        JsonNode engine = generate(gguf);
        JsonNode llama = generate(gguf, "--backend", "llamacpp");
        assertEquals("llamacpp", llama.get("backend").asText());
        assertEquals(engine.get("generation_defaults"), llama.get("generation_defaults"));
        assertEquals(generate(withDefaults).get("tokens"), engine.get("tokens"));
        assertEquals(engine.get("tokens"), llama.get("tokens"));
    }
}
