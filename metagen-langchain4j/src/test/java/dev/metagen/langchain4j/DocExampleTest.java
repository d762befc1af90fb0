package dev.metagen.langchain4j;

import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.Result;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The examples of docs/langchain4j.md, copied here verbatim (the test checks that the document still shows exactly
 * this code) and run against the default model, resolved through an empty model cache seeded with stories260K.
 */
class DocExampleTest {
    @TempDir
    static Path home;

    interface Assistant {
        String chat(String message);

        Result<String> chatWithDetails(String message);
    }

    @BeforeAll
    static void modelCache() {
        System.setProperty("metagen.home", home.toString());
        System.setProperty("metagen.hf.seed", SharedData.models().toString());
    }

    @AfterAll
    static void clear() {
        System.clearProperty("metagen.home");
        System.clearProperty("metagen.hf.seed");
    }

    @Test
    void theDocumentedExampleRunsAsWritten() throws Exception {
        java.io.PrintStream out = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
        // example begins
        try (MetagenChatModel model = MetagenChatModel.builder()   // the default model: stories260K
                .strategy("""
                        {"type": "best_of_n", "n": 4, "scorer": {"type": "mean_logprob"},
                         "inner": {"type": "sample", "temperature": 0.8}}""")
                .maxOutputTokens(32)
                .build()) {
            Assistant assistant = AiServices.create(Assistant.class, model);
            String answer = assistant.chat("Once upon a time");
            System.out.println(answer);

            Result<String> result = assistant.chatWithDetails("Once upon a time");
            MetagenChatResponseMetadata meta = (MetagenChatResponseMetadata) result.finalResponse().metadata();
            System.out.println(meta.cost().modelCalls() + " model calls; chose candidate " + meta.trace().get("chosen"));
        }
        // example ends
        } finally {
            System.setOut(out);
        }
        List<String> lines = printed.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();
        assertFalse(lines.getFirst().isBlank(), printed.toString());
        // best-of-4 over 32-token samples: 4 prefills plus at most 31 decode steps each
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) model calls; chose candidate [0-3]").matcher(lines.getLast());
        assertTrue(m.matches(), lines.getLast());
        long calls = Long.parseLong(m.group(1));
        assertTrue(calls >= 4 && calls <= 4 * 32, lines.getLast());
        assertTrue(Files.isRegularFile(home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf")), "the default model came through the cache");

        String source = Files.readString(Path.of("src/test/java/dev/metagen/langchain4j/DocExampleTest.java"));
        String code = source.substring(source.indexOf("// example begins\n") + "// example begins\n".length(), source.indexOf("\n        // example ends")).stripIndent();
        String doc = Files.readString(Path.of("../docs/langchain4j.md"));
        for (String line : code.lines().toList()) {
            assertTrue(doc.contains(line), "docs/langchain4j.md no longer shows: " + line);
        }
        assertTrue(doc.contains(code), "docs/langchain4j.md shows the example as it is run here");
        assertTrue(Files.readString(Path.of("../README.md")).contains(code), "the README shows the example as it is run here");
    }
}
