package dev.metagen.meta.tools;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.ChatMessage;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * How a model family writes tool calls in its output, and the parser that reads them back: Hermes / Qwen
 * ({@code <tool_call>{"name", "arguments"}</tool_call>}), Llama 3.x (a bare JSON {@code {"name", "parameters"}},
 * possibly after {@code <|python_tag|>}) and Mistral ({@code [TOOL_CALLS][{"name", "arguments"}, ...]}, or the
 * newer {@code [TOOL_CALLS]name[ARGS]{...}}). The family is read from the chat template's text.
 */
public enum ToolCallFormat {
    /** Hermes / Qwen: {@code <tool_call>{"name": ..., "arguments": ...}</tool_call>}. */
    HERMES,
    /** Llama 3.x: {@code {"name": ..., "parameters": ...}}, optionally after {@code <|python_tag|>}. */
    LLAMA3,
    /** Mistral: {@code [TOOL_CALLS][...]} or {@code [TOOL_CALLS]name[ARGS]{...}}. */
    MISTRAL;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private static final RandomGenerator IDS = new SecureRandom();

    /**
     * Text the model wrote: its plain content (null when it wrote nothing else) and the calls it made.
     *
     * @param content the content
     * @param calls the calls
     */
    public record Parsed(String content, List<ChatMessage.ToolCall> calls) {
        /** Copies the calls. */
        public Parsed {
            calls = List.copyOf(calls);
        }

        /**
         * Whether the model called a tool.
         *
         * @return true when there is at least one call
         */
        public boolean hasCalls() {
            return !calls.isEmpty();
        }
    }

    /**
     * The family a chat template's text belongs to: Mistral's {@code [TOOL_CALLS]}, Hermes/Qwen's
     * {@code <tool_call>}, Llama 3.x's {@code <|python_tag|>} or {@code "parameters"} prompt; Hermes otherwise
     * (the format most open models are tuned on).
     *
     * @param templateSource the template source
     * @return the for template
     */
    public static ToolCallFormat forTemplate(String templateSource) {
        if (templateSource == null) {
            return HERMES;
        }
        if (templateSource.contains("[TOOL_CALLS]")) {
            return MISTRAL;
        }
        if (templateSource.contains("<tool_call>")) {
            return HERMES;
        }
        if (templateSource.contains("<|python_tag|>") || templateSource.contains("<|eot_id|>") && templateSource.contains("\"parameters\"")) {
            return LLAMA3;
        }
        return HERMES;
    }

    /**
     * The format named in a spec or on the command line ({@code hermes}, {@code llama3}, {@code mistral}).
     *
     * @param name the name
     * @return the named
     */
    public static ToolCallFormat named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "hermes", "qwen" -> HERMES;
            case "llama3", "llama" -> LLAMA3;
            case "mistral" -> MISTRAL;
            default -> throw new IllegalArgumentException("unknown tool call format '" + name + "' (known: hermes, llama3, mistral)");
        };
    }

    /**
     * A fresh call id the family's template accepts in later turns (Mistral's templates insist on 9 alphanumerics).
     *
     * @return the new id
     */
    public String newId() {
        StringBuilder sb = new StringBuilder(this == MISTRAL ? "" : "call_");
        int n = this == MISTRAL ? 9 : 24;
        for (int i = 0; i < n; i++) {
            sb.append(ALNUM.charAt(IDS.nextInt(ALNUM.length())));
        }
        return sb.toString();
    }

    /**
     * How the model writes one call in this family (used to show the model a call it made, and in examples).
     *
     * @param name the name
     * @param argumentsJson the arguments json
     * @return the write
     */
    public String write(String name, String argumentsJson) {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", name);
        o.set(this == LLAMA3 ? "parameters" : "arguments", readOrEmpty(argumentsJson));
        return switch (this) {
            case HERMES -> "<tool_call>\n" + o + "\n</tool_call>";
            case LLAMA3 -> o.toString();
            case MISTRAL -> "[TOOL_CALLS][" + o + "]";
        };
    }

    /**
     * Reads a call generated under {@link ToolDefinition#callSchema()} ({@code {"name": ..., "arguments": {...}}});
     * text that is not one (JSON cut short by the token limit) is all content.
     *
     * @param text what the model generated under the call schema
     * @return the call, or the text as content
     */
    public static Parsed forcedCall(String text) {
        JsonNode n = readOrNull(text);
        if (n != null && n.isObject() && n.path("name").isTextual() && n.path("arguments").isObject()) {
            return new Parsed(null, List.of(new ChatMessage.ToolCall(null, n.get("name").textValue(), n.get("arguments").toString())));
        }
        return new Parsed(text, List.of());
    }

    /**
     * The conversation for a chat template that does not read {@code tools} (a model without tool support): the tools
     * in a system message and the calls of earlier turns written as text in this family's format, as llama.cpp's
     * generic tool handler does, so that the tools still reach the model.
     *
     * @param messages  the conversation
     * @param toolsJson the tools as the OpenAI JSON array
     * @return the conversation with the tools in its system message
     */
    public List<ChatMessage> withToolsInSystem(List<ChatMessage> messages, String toolsJson) {
        List<ChatMessage> out = new ArrayList<>();
        String prompt = "You can call these tools:\n" + toolsJson + "\nTo call a tool, answer with "
                + write("NAME", "{\"ARGUMENT\": \"VALUE\"}") + " and nothing else.";
        int start = 0;
        if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
            prompt = messages.getFirst().content() + "\n\n" + prompt;
            start = 1;
        }
        out.add(ChatMessage.system(prompt));
        for (ChatMessage m : messages.subList(start, messages.size())) {
            if (m.hasToolCalls()) {
                StringBuilder sb = new StringBuilder(m.content() == null ? "" : m.content());
                for (ChatMessage.ToolCall call : m.toolCalls()) {
                    sb.append(sb.isEmpty() ? "" : "\n").append(write(call.name(), call.argumentsJson()));
                }
                out.add(ChatMessage.assistant(sb.toString()));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * Parses a model's output; text that holds no well-formed call is all content.
     *
     * @param text the text
     * @return the parse
     */
    public Parsed parse(String text) {
        List<ChatMessage.ToolCall> calls = new ArrayList<>();
        String content = switch (this) {
            case HERMES -> hermes(text, calls);
            case LLAMA3 -> llama(text, calls);
            case MISTRAL -> mistral(text, calls);
        };
        if (content == null || calls.isEmpty()) {
            // null: what looked like a call was not one, so the whole text is the answer
            return new Parsed(text, List.of());
        }
        return new Parsed(content.isBlank() ? null : content.strip(), calls);
    }

    private String hermes(String text, List<ChatMessage.ToolCall> calls) {
        StringBuilder content = new StringBuilder();
        int at = 0;
        while (true) {
            int open = text.indexOf("<tool_call>", at);
            if (open < 0) {
                content.append(text, at, text.length());
                break;
            }
            content.append(text, at, open);
            int bodyStart = open + "<tool_call>".length();
            int close = text.indexOf("</tool_call>", bodyStart);
            // a call cut off by a stop string or the token limit may lack its closing tag
            String body = close < 0 ? text.substring(bodyStart) : text.substring(bodyStart, close);
            ChatMessage.ToolCall c = call(body.strip());
            if (c == null) {
                return null; // not a call after all: all text is content
            }
            calls.add(c);
            if (close < 0) {
                break;
            }
            at = close + "</tool_call>".length();
        }
        return content.toString();
    }

    private String llama(String text, List<ChatMessage.ToolCall> calls) {
        String s = text.strip();
        String content = "";
        int tag = s.indexOf("<|python_tag|>");
        if (tag >= 0) {
            content = s.substring(0, tag);
            s = s.substring(tag + "<|python_tag|>".length()).strip();
        }
        if (!s.startsWith("{")) {
            return null;
        }
        // one or more objects, separated by ';' or whitespace (Llama 3.2 writes parallel calls that way)
        int k = 0;
        while (k < s.length()) {
            if (s.charAt(k) != '{') {
                return null; // prose after a JSON object: an answer that happens to start with JSON
            }
            try (JsonParser p = JSON.getFactory().createParser(s.substring(k))) {
                ChatMessage.ToolCall c = call((JsonNode) p.readValueAsTree());
                if (c == null) {
                    return null;
                }
                calls.add(c);
                k += (int) p.currentLocation().getCharOffset();
            } catch (java.io.IOException e) {
                return null;
            }
            while (k < s.length() && (Character.isWhitespace(s.charAt(k)) || s.charAt(k) == ';')) {
                k++;
            }
        }
        return content;
    }

    private String mistral(String text, List<ChatMessage.ToolCall> calls) {
        int first = text.indexOf("[TOOL_CALLS]");
        if (first < 0) {
            return null;
        }
        String content = text.substring(0, first);
        String rest = text.substring(first);
        for (String part : rest.split("\\[TOOL_CALLS]", -1)) {
            String s = part.strip();
            if (s.isEmpty()) {
                continue;
            }
            if (s.startsWith("[")) {
                // v3 tokenizer: a JSON array of {"name", "arguments", "id"?}
                JsonNode arr = readOrNull(s);
                if (arr == null || !arr.isArray() || arr.isEmpty()) {
                    return null;
                }
                for (JsonNode n : arr) {
                    ChatMessage.ToolCall c = call(n);
                    if (c == null) {
                        return null;
                    }
                    calls.add(c);
                }
            } else {
                // v11 tokenizer: name[ARGS]{...}, possibly name[CALL_ID]id[ARGS]{...}
                int args = s.indexOf("[ARGS]");
                if (args < 0) {
                    return null;
                }
                String name = s.substring(0, args).strip();
                String id = null;
                int cid = name.indexOf("[CALL_ID]");
                if (cid >= 0) {
                    id = name.substring(cid + "[CALL_ID]".length()).strip();
                    name = name.substring(0, cid).strip();
                }
                JsonNode a = readOrNull(s.substring(args + "[ARGS]".length()).strip());
                if (a == null || !a.isObject() || !ToolDefinition.NAME.matcher(name).matches()) {
                    return null;
                }
                calls.add(new ChatMessage.ToolCall(id, name, a.toString()));
            }
        }
        return content;
    }

    private static ChatMessage.ToolCall call(String json) {
        JsonNode n = readOrNull(json);
        return n == null ? null : call(n);
    }

    /** {"name": ..., "arguments"|"parameters": {...} or a JSON string of one}; null when it is not a call. */
    private static ChatMessage.ToolCall call(JsonNode n) {
        if (n == null || !n.isObject()) {
            return null;
        }
        JsonNode fn = n.has("function") && n.get("function").isObject() ? n.get("function") : n;
        JsonNode name = fn.get("name");
        if (name == null || !name.isTextual() || name.textValue().isBlank()) {
            return null;
        }
        JsonNode args = fn.has("arguments") ? fn.get("arguments") : fn.get("parameters");
        if (args == null || args.isNull()) {
            args = JSON.createObjectNode();
        } else if (args.isTextual()) {
            args = readOrNull(args.textValue());
        }
        if (args == null || !args.isObject()) {
            return null;
        }
        JsonNode id = n.get("id");
        return new ChatMessage.ToolCall(id != null && id.isTextual() ? id.textValue() : null, name.textValue(), args.toString());
    }

    private static JsonNode readOrNull(String s) {
        try {
            return JSON.readTree(s);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static JsonNode readOrEmpty(String s) {
        JsonNode n = readOrNull(s);
        return n == null ? JSON.createObjectNode() : n;
    }
}
