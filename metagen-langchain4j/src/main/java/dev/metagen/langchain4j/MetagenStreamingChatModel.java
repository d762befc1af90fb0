package dev.metagen.langchain4j;

import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.Cancellation;
import dev.metagen.runtime.chat.ChatEngine;
import dev.metagen.runtime.chat.ChatTools;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A LangChain4j {@link StreamingChatModel} over a metagen generator: a local model's plain generation streams token
 * by token; a strategy's answer is final only when the strategy ends and comes as one piece. Each call runs on its
 * own thread, as a remote model's would; errors reach the handler's {@code onError}, and the streaming handle of
 * each partial response cancels the generation at its next token.
 */
public class MetagenStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final ChatEngine engine;
    private final boolean ownsEngine;
    private final MetagenChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;

    MetagenStreamingChatModel(ChatEngine engine, boolean ownsEngine, MetagenChatRequestParameters defaults, List<ChatModelListener> listeners) {
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        this.defaults = defaults;
        this.listeners = List.copyOf(listeners);
    }

    public static MetagenModelBuilder<MetagenStreamingChatModel> builder() {
        return new MetagenModelBuilder<>(MetagenStreamingChatModel::new);
    }

    public ChatEngine engine() {
        return engine;
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        GenerationParams params;
        List<dev.metagen.core.ChatMessage> messages;
        ChatTools tools;
        try {
            tools = LangChain4jChat.tools(request.parameters());
            params = LangChain4jChat.params(engine, request.parameters(), tools);
            messages = LangChain4jChat.messages(request);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        // a platform thread: decoding is CPU work that would pin a virtual thread's carrier
        Cancellation cancel = new Cancellation();
        StreamingHandle handle = new StreamingHandle() {
            @Override
            public void cancel() {
                cancel.cancel();
            }

            @Override
            public boolean isCancelled() {
                return cancel.isCancelled();
            }
        };
        PartialResponseContext context = new PartialResponseContext(handle);
        Thread.ofPlatform().daemon().name("metagen-stream-" + THREADS.incrementAndGet()).start(() -> {
            ChatResponse response;
            try {
                response = LangChain4jChat.response(engine, engine.chat(messages, params, tools,
                        piece -> handler.onPartialResponse(new PartialResponse(piece), context), cancel));
                if (cancel.isCancelled()) {
                    return; // the handler cancelled: it hears nothing more
                }
            } catch (MetagenException e) {
                handler.onError(LangChain4jChat.translate(e));
                return;
            } catch (RuntimeException | Error e) {
                handler.onError(e);
                return;
            }
            handler.onCompleteResponse(response);
        });
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

    @Override
    public void close() {
        if (ownsEngine) {
            engine.close();
        }
    }
}
