package dev.metagen.meta.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.ChatMessage;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tool-call parsers on outputs recorded from each family (Qwen/Hermes, Llama 3.x, Mistral), and family detection from templates. */
class ToolCallFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void parsesRecordedOutputsOfEachFamily() throws Exception {
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("/tool-calls/recorded-outputs.json")) {
            cases = JSON.readTree(in);
        }
        int withCalls = 0;
        for (JsonNode c : cases) {
            String what = c.get("family").asText() + ": " + c.get("source").asText();
            ToolCallFormat.Parsed p = ToolCallFormat.named(c.get("family").asText()).parse(c.get("output").asText());
            if (c.get("content").isNull()) {
                assertNull(p.content(), what);
            } else {
                assertEquals(c.get("content").asText(), p.content(), what);
            }
            JsonNode calls = c.get("calls");
            assertEquals(calls.size(), p.calls().size(), what);
            for (int i = 0; i < calls.size(); i++) {
                ChatMessage.ToolCall got = p.calls().get(i);
                assertEquals(calls.get(i).get("name").asText(), got.name(), what);
                assertEquals(calls.get(i).get("arguments"), JSON.readTree(got.argumentsJson()), what);
                assertEquals(calls.get(i).has("id") ? calls.get(i).get("id").asText() : null, got.id(), what);
            }
            withCalls += calls.isEmpty() ? 0 : 1;
        }
        assertTrue(withCalls >= 10, "most recorded outputs hold calls: " + withCalls);
    }

    @Test
    void aCallWrittenByAFamilyParsesBackInThatFamily() {
        for (ToolCallFormat f : ToolCallFormat.values()) {
            ToolCallFormat.Parsed p = f.parse(f.write("lookup", "{\"q\":\"a \\\"quoted\\\" word\",\"n\":[1,2]}"));
            assertEquals(List.of("lookup"), p.calls().stream().map(ChatMessage.ToolCall::name).toList(), f.name());
            assertEquals("{\"q\":\"a \\\"quoted\\\" word\",\"n\":[1,2]}", p.calls().getFirst().argumentsJson(), f.name());
        }
    }

    @Test
    void familyComesFromTheTemplate() throws Exception {
        Path dir = dev.metagen.core.testing.SharedData.datasets().resolve("chat-templates");
        assertEquals(ToolCallFormat.HERMES, ToolCallFormat.forTemplate(Files.readString(dir.resolve("Qwen-Qwen2.5-7B-Instruct.jinja"))));
        assertEquals(ToolCallFormat.HERMES, ToolCallFormat.forTemplate(Files.readString(dir.resolve("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"))));
        assertEquals(ToolCallFormat.LLAMA3, ToolCallFormat.forTemplate(Files.readString(dir.resolve("meta-llama-Llama-3.1-8B-Instruct.jinja"))));
        assertEquals(ToolCallFormat.LLAMA3, ToolCallFormat.forTemplate(Files.readString(dir.resolve("meta-llama-Llama-3.2-3B-Instruct.jinja"))));
        assertEquals(ToolCallFormat.MISTRAL, ToolCallFormat.forTemplate(Files.readString(dir.resolve("mistralai-Mistral-Nemo-Instruct-2407.jinja"))));
        assertEquals(ToolCallFormat.MISTRAL, ToolCallFormat.forTemplate(Files.readString(dir.resolve("Mistral-Small-3.2-24B-Instruct-2506.jinja"))));
        assertEquals(ToolCallFormat.HERMES, ToolCallFormat.forTemplate(null));
    }

    @Test
    void idsSuitTheFamily() {
        assertTrue(ToolCallFormat.MISTRAL.newId().matches("[A-Za-z0-9]{9}"));
        assertTrue(ToolCallFormat.HERMES.newId().matches("call_[A-Za-z0-9]{24}"));
    }
}
