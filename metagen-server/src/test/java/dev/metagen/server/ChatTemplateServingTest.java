package dev.metagen.server;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.ChatMessage;
import dev.metagen.engine.chat.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chat requests go through the model's template (here Qwen2.5's ChatML from ../shared) and stop at its end-of-turn text. */
class ChatTemplateServingTest {
    @Test
    void messagesAreRenderedWithTheTemplateAndTheAnswerStopsAtItsEndOfTurn() throws Exception {
        var m = TestServer.stories();
        String source = Files.readString(SharedData.datasets().resolve("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
        ChatTemplate t = ChatTemplate.of("qwen2.5", source, "", "<|im_end|>");
        try (OpenAiServer s = OpenAiServer.start(m, "stories-chatml", new ChatFormatter(t, m.tokenizer()), TestServer.config())) {
            var r = post(s, "/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                    + "{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"assistant\",\"content\":\"Hi!\"},"
                    + "{\"role\":\"user\",\"content\":\"A story?\"}],\"max_tokens\":12,\"temperature\":0}");
            assertEquals(200, r.status(), r.body());
            JsonNode o = r.json();
            String rendered = t.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hello"),
                    ChatMessage.assistant("Hi!"), ChatMessage.user("A story?")), true);
            assertTrue(rendered.contains("<|im_start|>assistant\n"), rendered);
            assertTrue(rendered.endsWith("<|im_start|>assistant\n"), rendered);
            assertEquals(m.tokenizer().encode(rendered, true, true).length, o.path("usage").path("prompt_tokens").asInt());
            assertTrue(t.stopStrings().contains("<|im_end|>"));
            // a template the server rejects is a 400 naming messages, not a 500
            ChatTemplate raising = ChatTemplate.of("strict", "{{ raise_exception('roles must alternate') }}", "", "");
            try (OpenAiServer s2 = OpenAiServer.start(m, "strict", new ChatFormatter(raising, m.tokenizer()), TestServer.config())) {
                var bad = post(s2, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
                assertEquals(400, bad.status(), bad.body());
                assertEquals("messages", bad.json().path("error").path("param").asText());
                assertTrue(bad.json().path("error").path("message").asText().contains("roles must alternate"), bad.body());
            }
        }
    }
}
