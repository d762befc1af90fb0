package dev.metagen.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.runtime.chat.ChatEngine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link MetagenChatModel} or {@link MetagenStreamingChatModel}: the model (a reference, default the
 * command line's default model, a loaded model, a generator, or an engine shared with another model), the strategy
 * spec, and the default request parameters.
 */
public final class MetagenModelBuilder<M> {
    /** Creates the model from the engine, whether it owns it, its defaults and listeners. */
    interface Factory<M> {
        M create(ChatEngine engine, boolean owns, MetagenChatRequestParameters defaults, List<ChatModelListener> listeners);
    }

    private final Factory<M> factory;
    private final ChatEngine.Builder engine = ChatEngine.builder();
    private ChatEngine shared;
    private MetagenChatRequestParameters.Builder defaults = MetagenChatRequestParameters.builder();
    private final List<ChatModelListener> listeners = new ArrayList<>();

    MetagenModelBuilder(Factory<M> factory) {
        this.factory = factory;
    }

    /** A {@code .gguf} path, {@code hf:OWNER/REPO/FILE.gguf} or {@code llamacpp:REF}; default {@value ChatEngine#DEFAULT_MODEL}. */
    public MetagenModelBuilder<M> model(String ref) {
        engine.model(ref);
        return this;
    }

    /** A model already loaded (closed by the caller). */
    public MetagenModelBuilder<M> model(LanguageModel model) {
        engine.model(model);
        return this;
    }

    /** Any generator, e.g. a {@code RemoteGenerator}; its prompts are rendered with {@link #chatTemplate}. */
    public MetagenModelBuilder<M> generator(Generator generator) {
        engine.generator(generator);
        return this;
    }

    /** An engine shared with another model (closed by the caller); the other engine settings are then not used. */
    public MetagenModelBuilder<M> engine(ChatEngine engine) {
        this.shared = engine;
        return this;
    }

    public MetagenModelBuilder<M> chatTemplate(ChatTemplate template) {
        engine.chatTemplate(template);
        return this;
    }

    /** A strategy spec (inline JSON or a file) that every call runs. */
    public MetagenModelBuilder<M> strategy(String spec) {
        engine.strategy(spec);
        return this;
    }

    /** {@code pure-java} (default) or {@code llamacpp}. */
    public MetagenModelBuilder<M> backend(String backend) {
        engine.backend(backend);
        return this;
    }

    /** Named models for the strategy's leaves ({@code "model": "NAME"}). */
    public MetagenModelBuilder<M> models(Map<String, String> named) {
        engine.models(named);
        return this;
    }

    public MetagenModelBuilder<M> modelName(String name) {
        engine.modelName(name);
        return this;
    }

    public MetagenModelBuilder<M> threads(int threads) {
        engine.threads(threads);
        return this;
    }

    public MetagenModelBuilder<M> contextLength(int tokens) {
        engine.contextLength(tokens);
        return this;
    }

    /** Default request parameters (a request's own override them). */
    public MetagenModelBuilder<M> defaultRequestParameters(ChatRequestParameters parameters) {
        this.defaults = MetagenChatRequestParameters.builder().overrideWith(parameters);
        return this;
    }

    public MetagenModelBuilder<M> temperature(Double temperature) {
        defaults.temperature(temperature);
        return this;
    }

    public MetagenModelBuilder<M> maxOutputTokens(Integer n) {
        defaults.maxOutputTokens(n);
        return this;
    }

    public MetagenModelBuilder<M> seed(Long seed) {
        defaults.seed(seed);
        return this;
    }

    public MetagenModelBuilder<M> listeners(List<ChatModelListener> listeners) {
        this.listeners.addAll(listeners);
        return this;
    }

    public M build() {
        ChatEngine e = shared != null ? shared : engine.build();
        return factory.create(e, shared == null, defaults.build(), listeners);
    }
}
