package dev.metagen.core;

import java.util.List;
import java.util.Objects;

/**
 * One message of a chat conversation, in the shape the OpenAI chat API and Hugging Face chat templates share.
 *
 * @param role       {@code system}, {@code user}, {@code assistant}, {@code tool} (templates may know others)
 * @param content    the text; may be null for an assistant message that only calls tools
 * @param name       optional participant or tool name (null when absent)
 * @param toolCalls  the tool calls an assistant message makes (empty when none)
 * @param toolCallId for a {@code tool} message, the id of the call it answers (null when absent)
 */
public record ChatMessage(String role, String content, String name, List<ToolCall> toolCalls, String toolCallId) {

    /**
     * One function call requested by the assistant.
     *
     * @param id            the call id the answering tool message refers to (may be null)
     * @param name          the function name
     * @param argumentsJson the arguments as a JSON object text, as the OpenAI API carries them
     */
    public record ToolCall(String id, String name, String argumentsJson) {
        /** Checks the name and turns blank arguments into {@code {}}. */
        public ToolCall {
            Objects.requireNonNull(name, "tool call name");
            argumentsJson = argumentsJson == null || argumentsJson.isBlank() ? "{}" : argumentsJson;
        }
    }

    /** Checks the role and copies the tool calls. */
    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new MetagenException("chat message: role must not be empty");
        }
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /**
     * A message with a role and text only.
     *
     * @param role the role
     * @param content the text
     */
    public ChatMessage(String role, String content) {
        this(role, content, null, List.of(), null);
    }

    /**
     * A system message.
     *
     * @param content the text
     * @return the message
     */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /**
     * A user message.
     *
     * @param content the text
     * @return the message
     */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /**
     * An assistant message.
     *
     * @param content the text
     * @return the message
     */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /**
     * An assistant turn that calls tools (content may be null).
     *
     * @param content the text, or null
     * @param toolCalls the calls it makes
     * @return the message
     */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage("assistant", content, null, toolCalls, null);
    }

    /**
     * A tool result answering the call {@code toolCallId}; {@code name} is the tool's name (may be null).
     *
     * @param toolCallId the id of the call answered
     * @param name the tool's name, or null
     * @param content the tool's output
     * @return the message
     */
    public static ChatMessage tool(String toolCallId, String name, String content) {
        return new ChatMessage("tool", content, name, List.of(), toolCallId);
    }

    /**
     * Whether this message calls tools.
     *
     * @return true when {@link #toolCalls()} is not empty
     */
    public boolean hasToolCalls() {
        return !toolCalls.isEmpty();
    }
}
