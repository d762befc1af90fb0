package dev.metagen.engine.chat;

import dev.metagen.core.ChatMessage;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.model.TransformerModel;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A model's chat template: the Hugging Face Jinja template from {@code tokenizer.chat_template} that turns a list of
 * messages into the exact prompt text the model was trained on (special tokens as text), rendered with Jinjava plus
 * the helpers HF/llama.cpp templates expect ({@code raise_exception}, {@code strftime_now}, {@code tojson}, Python
 * string and list methods).
 *
 * <p>A model without a template gets {@link #fallback()}: a plain transcript ({@code "System: ...\n\nUser: ...\n\n
 * Assistant:"}), chosen over ChatML because a model without a template usually has no ChatML special tokens either.
 */
public final class ChatTemplate {
    /** GGUF metadata key of the template text. */
    public static final String GGUF_KEY = "tokenizer.chat_template";

    private final String name;
    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean fallback;
    private final JinjaRenderer renderer;

    private ChatTemplate(String name, String source, String bosToken, String eosToken, boolean fallback) {
        this.name = Objects.requireNonNull(name);
        this.source = Objects.requireNonNull(source);
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.fallback = fallback;
        this.renderer = JinjaRenderer.compile(name, source);
    }

    /** A template from its Jinja source; {@code bosToken}/{@code eosToken} are the texts of those tokens (may be empty). */
    public static ChatTemplate of(String jinjaSource, String bosToken, String eosToken) {
        return of("chat template", jinjaSource, bosToken, eosToken);
    }

    /** As {@link #of(String, String, String)}, with a name used in error messages (e.g. the file it came from). */
    public static ChatTemplate of(String name, String jinjaSource, String bosToken, String eosToken) {
        if (jinjaSource == null || jinjaSource.isBlank()) {
            throw new MetagenException(name + ": the chat template is empty");
        }
        return new ChatTemplate(name, jinjaSource, bosToken, eosToken, false);
    }

    /** The template stored in a GGUF file's metadata, with the file's BOS/EOS token texts; empty when it has none. */
    public static Optional<ChatTemplate> fromModel(GgufFile file) {
        String src = file.getString(GGUF_KEY, null);
        if (src == null || src.isBlank()) {
            return Optional.empty();
        }
        String[] tokens = file.getStringArray("tokenizer.ggml.tokens");
        String bos = tokenText(file, tokens, "tokenizer.ggml.bos_token_id");
        String eos = tokenText(file, tokens, "tokenizer.ggml.eos_token_id");
        return Optional.of(of(file.path().getFileName() + " (" + GGUF_KEY + ")", src, bos, eos));
    }

    /** The template of a loaded model; empty when its file carries none. */
    public static Optional<ChatTemplate> fromModel(TransformerModel model) {
        return fromModel(model.file());
    }

    /** The model's own template, or {@link #fallback()} when it has none (check {@link #isFallback()}). */
    public static ChatTemplate forModel(TransformerModel model) {
        return fromModel(model).orElseGet(ChatTemplate::fallback);
    }

    /** The plain transcript format used for models without a template. */
    public static ChatTemplate fallback() {
        return new ChatTemplate("fallback plain transcript", FALLBACK_SOURCE, "", "", true);
    }

    private static final String FALLBACK_SOURCE = """
            {%- for message in messages -%}
            {{- message.role | capitalize }}: {{ message.content | trim }}{{ '\\n\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- 'Assistant:' -}}{%- endif -%}""";

    private static String tokenText(GgufFile file, String[] tokens, String key) {
        int id = file.getInt(key, -1);
        return tokens != null && id >= 0 && id < tokens.length ? tokens[id] : "";
    }

    /** Renders a conversation; {@code addGenerationPrompt} appends the opening of the assistant's next turn. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, null, Map.of());
    }

    /**
     * Renders a conversation with tool definitions and extra template variables.
     *
     * @param toolsJson      a JSON array of OpenAI-style tool definitions ({@code {"type":"function","function":{...}}}),
     *                       or null for none
     * @param extraVariables further variables the template reads (e.g. {@code enable_thinking}); they cannot
     *                       replace {@code messages}, {@code tools} or {@code add_generation_prompt}
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, String toolsJson,
                         Map<String, Object> extraVariables) {
        Objects.requireNonNull(messages, "messages");
        return renderer.render(messages, addGenerationPrompt, toolsJson, extraVariables, bosToken, eosToken);
    }

    /**
     * Strings that end an assistant turn for this template family (e.g. {@code <|im_end|>}, {@code <|eot_id|>}),
     * found in the template source; generation should stop at them in addition to the model's end-of-generation ids.
     */
    public List<String> stopStrings() {
        return StopMarkers.of(source, eosToken, fallback);
    }

    /** Whether the template reads a {@code tools} variable (so tool definitions reach the prompt). */
    public boolean supportsTools() {
        return source.contains("tools");
    }

    public boolean isFallback() {
        return fallback;
    }

    public String name() {
        return name;
    }

    public String source() {
        return source;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + name + "]";
    }
}
