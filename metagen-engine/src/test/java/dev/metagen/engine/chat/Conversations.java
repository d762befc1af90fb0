package dev.metagen.engine.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.ChatMessage;

import java.util.List;

/** The conversations every template is rendered on, and their OpenAI-style JSON for llama.cpp. */
final class Conversations {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** system, user, assistant, user. */
    static final List<ChatMessage> STANDARD = List.of(
            ChatMessage.system("You are a helpful assistant."),
            ChatMessage.user("Hello, who are you?"),
            ChatMessage.assistant("I am an assistant. How can I help?"),
            ChatMessage.user("Tell me a joke about cats."));

    /** user asks, assistant calls a tool, the tool answers; the model is to continue. */
    static final List<ChatMessage> TOOL_CALL = List.of(
            ChatMessage.system("You are a helpful assistant."),
            ChatMessage.user("What is the weather in Paris?"),
            ChatMessage.assistant(null, List.of(new ChatMessage.ToolCall("call_1", "get_weather",
                    "{\"city\": \"Paris\"}"))),
            ChatMessage.tool("call_1", "get_weather", "{\"temperature\": 18, \"sky\": \"clear\"}"));

    static final String TOOLS = """
            [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
              "required": ["city"]}}}]""";

    private Conversations() {
    }

    /** The conversation as transformers passes it to a template (tool call arguments as objects), with tools. */
    static com.fasterxml.jackson.databind.JsonNode hfJson(List<ChatMessage> messages, String toolsJson) {
        ObjectNode body = (ObjectNode) readTree(requestJson(messages, toolsJson));
        for (var m : body.get("messages")) {
            if (m.has("tool_calls")) {
                for (var call : m.get("tool_calls")) {
                    ObjectNode fn = (ObjectNode) call.get("function");
                    fn.set("arguments", readTree(fn.get("arguments").asText()));
                }
            }
        }
        body.remove("add_generation_prompt");
        return body;
    }

    private static com.fasterxml.jackson.databind.JsonNode readTree(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** The body of an OpenAI chat request: messages (and tools), as llama.cpp's template application reads it. */
    static String requestJson(List<ChatMessage> messages, String toolsJson) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode arr = body.putArray("messages");
        for (ChatMessage m : messages) {
            ObjectNode o = arr.addObject();
            o.put("role", m.role());
            if (m.content() == null) {
                o.putNull("content");
            } else {
                o.put("content", m.content());
            }
            if (m.name() != null) {
                o.put("name", m.name());
            }
            if (m.hasToolCalls()) {
                ArrayNode calls = o.putArray("tool_calls");
                for (ChatMessage.ToolCall c : m.toolCalls()) {
                    ObjectNode call = calls.addObject();
                    call.put("id", c.id());
                    call.put("type", "function");
                    ObjectNode fn = call.putObject("function");
                    fn.put("name", c.name());
                    fn.put("arguments", c.argumentsJson());
                }
            }
            if (m.toolCallId() != null) {
                o.put("tool_call_id", m.toolCallId());
            }
        }
        if (toolsJson != null) {
            try {
                body.set("tools", JSON.readTree(toolsJson));
            } catch (Exception e) {
                throw new IllegalArgumentException(e);
            }
        }
        body.put("add_generation_prompt", true);
        return body.toString();
    }
}
