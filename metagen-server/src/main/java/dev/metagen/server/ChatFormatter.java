package dev.metagen.server;

import dev.metagen.core.ChatMessage;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.chat.ChatTemplate;

import java.util.List;

/** Turns chat messages into the prompt the model was trained on (its own chat template) and tokenizes it. */
final class ChatFormatter {
    private final ChatTemplate template;
    private final Tokenizer tokenizer;

    ChatFormatter(ChatTemplate template, Tokenizer tokenizer) {
        this.template = template;
        this.tokenizer = tokenizer;
    }

    String render(List<ChatMessage> messages) {
        return template.render(messages, true);
    }

    /** Renders with tool definitions (a JSON array) when the request declares tools. */
    String render(List<ChatMessage> messages, String toolsJson) {
        return toolsJson == null ? render(messages) : template.render(messages, true, toolsJson, java.util.Map.of());
    }

    /** Whether the template reads {@code tools} (so the model's own format shows them). */
    boolean readsTools() {
        return !template.isFallback() && template.supportsTools();
    }

    String templateSource() {
        return template.source();
    }

    /**
     * The rendered text's token ids, special-token text parsed as those tokens (as llama.cpp's server does); BOS
     * is added only when the template did not already write it.
     */
    int[] encode(String rendered) {
        return tokenizer.encode(rendered, addsBos(rendered), true);
    }

    /** Whether encoding must add BOS: not when the template already wrote its text. */
    boolean addsBos(String rendered) {
        return template.bosToken().isEmpty() || !rendered.startsWith(template.bosToken());
    }

    /** End-of-turn strings of the template family: a chat answer stops at them. */
    List<String> stopStrings() {
        return template.stopStrings();
    }

    String name() {
        return template.name();
    }
}
