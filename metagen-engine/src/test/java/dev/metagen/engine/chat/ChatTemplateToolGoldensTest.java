package dev.metagen.engine.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.MetagenException;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool definitions, assistant tool calls (parallel ones too) and tool results rendered by the model families' own
 * templates (Qwen 2.5/3, Hermes 2 Pro, Llama 3.1/3.2, Mistral Nemo and Small 3.2) byte for byte as Python Jinja2
 * renders them the way transformers applies a chat template. The goldens were made by
 * {@code test-support/chat-templates/make_tool_goldens.py}; a golden starting {@code ERROR: } is a template that
 * raises on that conversation (Llama 3.x refuses parallel calls), which we must raise with the same message.
 */
class ChatTemplateToolGoldensTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void rendersToolConversationsAsPythonJinja2Does() throws Exception {
        JsonNode spec = JSON.readTree(resource("conversations.json"));
        String tools = spec.get("tools").toString();
        Map<String, Object> extra = JSON.convertValue(spec.get("extra_variables"), Map.class);
        int compared = 0;
        int raised = 0;
        List<String> differences = new ArrayList<>();
        for (var t : spec.get("templates").properties()) {
            String file = t.getKey();
            String src = Files.readString(SharedData.datasets().resolve("chat-templates").resolve(file));
            ChatTemplate template = ChatTemplate.of(file, src, t.getValue().get("bos_token").asText(), t.getValue().get("eos_token").asText());
            for (var c : spec.get("conversations").properties()) {
                String golden = resource(file.substring(0, file.length() - ".jinja".length()) + "." + c.getKey() + ".txt");
                String what = file + " / " + c.getKey();
                String ours;
                try {
                    // the date is the one wall-clock input (strftime_now); the goldens were rendered on 2024-07-26
                    ours = template.render(messages(c.getValue()), true, tools, extra)
                            .replace(java.time.LocalDate.now().toString(), "2024-07-26");
                } catch (MetagenException e) {
                    ours = "ERROR: " + e.getMessage().replaceFirst("^.*the template raised an error: ", "");
                }
                if (golden.startsWith("ERROR: ")) {
                    raised++;
                }
                if (!golden.equals(ours)) {
                    int at = firstDifference(golden, ours);
                    differences.add(what + " at char " + at + ": expected «" + around(golden, at) + "» got «" + around(ours, at) + "»");
                }
                compared++;
            }
        }
        assertEquals(List.of(), differences);
        assertEquals(21, compared);
        assertEquals(2, raised, "the Llama 3.x templates refuse parallel calls");
    }

    private static String around(String s, int at) {
        return s.substring(Math.max(0, at - 40), Math.min(s.length(), at + 60)).replace("\n", "\\n");
    }

    private static int firstDifference(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    /** OpenAI-shaped messages as the server reads them (tool call arguments as JSON text). */
    static List<ChatMessage> messages(JsonNode arr) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : arr) {
            List<ChatMessage.ToolCall> calls = new ArrayList<>();
            if (m.has("tool_calls")) {
                for (JsonNode c : m.get("tool_calls")) {
                    calls.add(new ChatMessage.ToolCall(c.get("id").asText(), c.get("function").get("name").asText(),
                            c.get("function").get("arguments").asText()));
                }
            }
            out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText(),
                    m.has("name") ? m.get("name").asText() : null, calls,
                    m.has("tool_call_id") ? m.get("tool_call_id").asText() : null));
        }
        assertTrue(!out.isEmpty());
        return out;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplateToolGoldensTest.class.getResourceAsStream("/tool-goldens/" + name)) {
            if (in == null) {
                throw new IOException("missing golden " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Jinja2's trim: a missing value is empty, and trim(chars) strips those characters. */
    @Test
    void trimAsJinja2() {
        ChatTemplate t = ChatTemplate.of("{{ messages[0].missing|trim }}|{{ messages[0].content|trim('xy') }}|{{ ' a '|trim }}", "", "");
        assertEquals("|ab|a", t.render(List.of(ChatMessage.user("xyabyx")), false));
    }
}
