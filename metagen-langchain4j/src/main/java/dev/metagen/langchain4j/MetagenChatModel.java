package dev.metagen.langchain4j;

import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.Cancellation;
import dev.metagen.runtime.chat.ChatEngine;
import dev.metagen.runtime.chat.ChatTools;

import java.util.List;
import java.util.Set;

/**
 * A LangChain4j {@link ChatModel} over a metagen generator: a local model on the pure-Java engine or llama.cpp, or
 * any other generator (a remote server), optionally under a strategy spec (best-of-n, self-consistency, searches
 * ...). Tools are declared to the model through its chat template (a required call is decoded under the call's JSON Schema, so its arguments always parse). Structured outputs are decoded under the JSON Schema as a constraint, so they always parse; the response's
 * metadata ({@link MetagenChatResponseMetadata}) carries the cost and the strategy's trace.
 */
public class MetagenChatModel implements ChatModel, AutoCloseable {
    private final ChatEngine engine;
    private final boolean ownsEngine;
    private final MetagenChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;

    MetagenChatModel(ChatEngine engine, boolean ownsEngine, MetagenChatRequestParameters defaults, List<ChatModelListener> listeners) {
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        this.defaults = defaults;
        this.listeners = List.copyOf(listeners);
    }

    public static MetagenModelBuilder<MetagenChatModel> builder() {
        return new MetagenModelBuilder<>(MetagenChatModel::new);
    }

    /** The engine behind this model (shared with a streaming model built over it). */
    public ChatEngine engine() {
        return engine;
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        ChatTools tools = LangChain4jChat.tools(request.parameters());
        GenerationParams params = LangChain4jChat.params(engine, request.parameters(), tools);
        List<dev.metagen.core.ChatMessage> messages = LangChain4jChat.messages(request);
        try {
            return LangChain4jChat.response(engine, engine.chat(messages, params, tools, t -> {}, new Cancellation()));
        } catch (MetagenException e) {
            throw LangChain4jChat.translate(e);
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return defaults;
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    /** Closes the engine (and the model it loaded) when this model built it. */
    @Override
    public void close() {
        if (ownsEngine) {
            engine.close();
        }
    }
}
