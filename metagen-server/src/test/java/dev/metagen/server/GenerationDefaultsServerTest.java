package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The model's {@code generation_config.json} defaults fill the request fields left out (as vLLM's
 * {@code --generation-config}); a field the request gives wins. TinyStories-656K with greedy decoding and a repetition
 * penalty of 1.5 as its defaults (the penalty changes its greedy text within 40 tokens).
 */
class GenerationDefaultsServerTest {
    @TempDir
    static Path tmp;
    private static TransformerModel model;
    private static OpenAiServer server;

    @BeforeAll
    static void start() throws Exception {
        Path dir = SharedData.modelDirectoryWith(tmp, "tinystories-656k", "generation_config.json",
                "{\"temperature\": 0.0, \"repetition_penalty\": 1.5}");
        model = TransformerModel.load(dir, new ModelOptions(1, 256));
        server = TestServer.start(model, TestServer.config());
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    static String complete(String fields) {
        var r = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":40" + fields + "}");
        assertEquals(200, r.status(), r.body());
        return r.json().at("/choices/0/text").asText();
    }

    @Test
    void requestFieldsLeftOutTakeTheModelsDefaults() {
        String explicit = complete(",\"temperature\":0,\"repetition_penalty\":1.5");
        String greedy = complete(",\"temperature\":0,\"repetition_penalty\":1");
        assertNotEquals(greedy, explicit, "the penalty changes the greedy text");
        // nothing given: the model's greedy decoding with its penalty, whatever the seed
        assertEquals(explicit, complete(",\"seed\":1"));
        assertEquals(explicit, complete(",\"seed\":2"));
        // a field given wins over the model's (both spellings of the penalty)
        assertEquals(greedy, complete(",\"repetition_penalty\":1"));
        assertEquals(greedy, complete(",\"repeat_penalty\":1"));
        assertEquals(complete(",\"temperature\":1,\"seed\":4,\"repetition_penalty\":1.5"), complete(",\"temperature\":1,\"seed\":4"));
        // a strategy's leaves inherit the request's parameters, defaults included
        assertEquals(explicit, complete(",\"strategy\":{\"type\":\"sample\"}"));
    }

    @Test
    void chatCompletionsTakeThemToo() {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}],\"max_tokens\":24";
        var byDefault = post(server, "/v1/chat/completions", body + "}");
        var explicit = post(server, "/v1/chat/completions", body + ",\"temperature\":0,\"repetition_penalty\":1.5}");
        assertEquals(200, byDefault.status(), byDefault.body());
        JsonNode a = byDefault.json().at("/choices/0/message/content");
        assertEquals(explicit.json().at("/choices/0/message/content"), a);
    }
}
