package dev.metagen.spring;

import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.context.SpringBootTest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example of docs/spring-ai.md run as a Spring Boot application: its application.properties (the test's own,
 * src/test/resources) and its Storyteller service are the files this checks the document shows verbatim. The model
 * is the default one, resolved through an empty model cache seeded with stories260K.
 */
@SpringBootTest(classes = DocExampleTest.App.class, properties = "spring.main.banner-mode=off")
class DocExampleTest {
    private static final Path HOME;

    static {
        // before the context starts: the auto-configured engine resolves the default model while it is created
        try {
            HOME = Files.createTempDirectory("metagen-home");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.setProperty("metagen.home", HOME.toString());
        System.setProperty("metagen.hf.seed", SharedData.models().toString());
    }

    @SpringBootApplication
    static class App {
    }

    @Autowired
    Storyteller storyteller;

    @Autowired
    ChatModel chatModel;

    @AfterAll
    static void clear() {
        System.clearProperty("metagen.home");
        System.clearProperty("metagen.hf.seed");
    }

    @Test
    void theDocumentedApplicationRunsAsWritten() throws IOException {
        assertInstanceOf(MetagenChatModel.class, chatModel, "the auto-configuration provides the chat model");
        assertEquals("stories260K", ((MetagenChatModel) chatModel).engine().modelName());
        assertFalse(storyteller.tell("Once upon a time").isEmpty());
        ChatResponse r = storyteller.tellWithDetails("Once upon a time");
        assertEquals("best_of_n", r.getMetadata().get(MetagenChatModel.STRATEGY));
        assertEquals(3, ((List<?>) MetagenChatModel.trace(r).get("candidates")).size());
        long calls = (Long) MetagenChatModel.cost(r).get("model_calls");
        assertTrue(calls >= 3 && calls <= 3 * 32, "best-of-3 over 32-token samples: " + calls);
        assertTrue(r.getMetadata().getUsage().getCompletionTokens() <= 3 * 32);
        assertTrue(Files.isRegularFile(HOME.resolve("models/ggml-org/tiny-llamas/stories260K.gguf")), "the default model came through the cache");

        String doc = Files.readString(Path.of("../docs/spring-ai.md"));
        String properties = Files.readString(Path.of("src/test/resources/application.properties"));
        assertTrue(doc.contains(properties), "docs/spring-ai.md shows application.properties as it is run here");
        String service = Files.readString(Path.of("src/test/java/dev/metagen/spring/Storyteller.java"));
        service = service.substring(service.indexOf("import "));
        assertTrue(doc.contains(service), "docs/spring-ai.md shows Storyteller.java as it is run here");
    }
}
