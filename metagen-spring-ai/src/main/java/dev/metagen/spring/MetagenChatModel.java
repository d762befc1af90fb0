package dev.metagen.spring;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.Cancellation;
import dev.metagen.runtime.chat.ChatEngine;
import dev.metagen.runtime.chat.ChatSettings;
import dev.metagen.runtime.chat.ChatTools;
import dev.metagen.meta.tools.ToolDefinition;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Spring AI {@link ChatModel} (streaming included) over a metagen {@link ChatEngine}: a local model on either
 * backend or any generator, optionally under a strategy spec. Native structured output
 * ({@code StructuredOutputChatOptions.outputSchema}) is decoded under the JSON Schema as a constraint. The response
 * metadata carries the token usage and, under the keys {@value #COST}, {@value #STRATEGY} and {@value #TRACE},
 * metagen's cost, the strategy's type and its trace.
 */
public class MetagenChatModel implements ChatModel {
    /** Metadata key of the call's cost (a map: prompt_tokens, generated_tokens, model_calls, tool_calls, wall_ms). */
    public static final String COST = "metagen.cost";
    /** Metadata key of the strategy's type (absent for a plain generation). */
    public static final String STRATEGY = "metagen.strategy";
    /** Metadata key of the generation's trace (a map of JSON-friendly values). */
    public static final String TRACE = "metagen.trace";

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ChatEngine engine;
    private final MetagenChatOptions defaults;

    public MetagenChatModel(ChatEngine engine) {
        this(engine, MetagenChatOptions.builder().build());
    }

    /** @param defaults options that a prompt's own options override */
    public MetagenChatModel(ChatEngine engine, MetagenChatOptions defaults) {
        this.engine = engine;
        this.defaults = defaults;
    }

    public ChatEngine engine() {
        return engine;
    }

    @Override
    public MetagenChatOptions getOptions() {
        return defaults;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Call c = prepare(prompt);
        ChatEngine.Reply reply;
        try {
            reply = engine.chat(c.messages, c.params, c.tools, t -> {}, new Cancellation());
        } catch (MetagenException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new ChatResponse(List.of(generation(reply.content(), reply)), metadata(reply));
    }

    /**
     * Streams the answer: a local model's plain generation token by token, a strategy's answer as one piece when the
     * strategy ends. The last response has no text and carries the finish reason, usage, cost and trace; cancelling
     * the subscription stops the generation at its next token.
     */
    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.create(sink -> {
            Call c;
            try {
                c = prepare(prompt);
            } catch (RuntimeException e) {
                sink.error(e);
                return;
            }
            Cancellation cancel = new Cancellation();
            sink.onDispose(cancel::cancel);
            // a platform thread: decoding is CPU work that would pin a virtual thread's carrier
            Thread.ofPlatform().daemon().name("metagen-spring-stream-" + THREADS.incrementAndGet()).start(() -> run(c, cancel, sink));
        });
    }

    private void run(Call c, Cancellation cancel, FluxSink<ChatResponse> sink) {
        try {
            ChatEngine.Reply reply = engine.chat(c.messages, c.params, c.tools, piece ->
                    sink.next(new ChatResponse(List.of(new Generation(new AssistantMessage(piece))))), cancel);
            if (!cancel.isCancelled()) {
                sink.next(new ChatResponse(List.of(generation("", reply)), metadata(reply)));
                sink.complete();
            }
        } catch (MetagenException e) {
            sink.error(new IllegalArgumentException(e.getMessage(), e));
        } catch (RuntimeException | Error e) {
            sink.error(e);
        }
    }

    private record Call(List<dev.metagen.core.ChatMessage> messages, GenerationParams params, ChatTools tools) {
    }

    /** The conversation and every option mapped onto metagen's, or refused naming what cannot be honoured. */
    private Call prepare(Prompt prompt) {
        MetagenChatOptions.Builder b = defaults.mutate();
        ChatOptions given = prompt.getOptions();
        if (given != null) {
            b.combineWith(given.mutate());
        }
        MetagenChatOptions o = b.build();
        ChatTools tools = tools(o);
        if (o.getModel() != null && !o.getModel().equals(engine.modelName())) {
            throw new IllegalArgumentException("model '" + o.getModel() + "' is not this model's ('" + engine.modelName()
                    + "'): configure another metagen model for it");
        }
        GenerationParams params;
        try {
            params = engine.params(new ChatSettings(o.getMaxTokens(), o.getTemperature(), o.getTopP(), o.getTopK(),
                    o.getFrequencyPenalty(), o.getPresencePenalty(), o.getStopSequences(), o.getSeed(), o.getOutputSchema(), false), tools);
        } catch (MetagenException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new Call(messages(prompt.getInstructions()), params, tools);
    }

    /**
     * The tool callbacks' definitions and the tool choice as metagen's, or null when the options declare no tools.
     * The tool context is not the model's: Spring's tool calling hands it to the tools.
     */
    private static ChatTools tools(MetagenChatOptions o) {
        List<ToolCallback> callbacks = o.getToolCallbacks() == null ? List.of() : o.getToolCallbacks();
        String choice = o.getToolChoice();
        if (callbacks.isEmpty()) {
            if (choice != null && !choice.equals("auto") && !choice.equals("none")) {
                throw new IllegalArgumentException("toolChoice '" + choice + "' needs tool callbacks, and the options give none");
            }
            return null; // auto and none without tools hold trivially
        }
        List<ToolDefinition> defs = new ArrayList<>();
        for (ToolCallback c : callbacks) {
            org.springframework.ai.tool.definition.ToolDefinition d = c.getToolDefinition();
            JsonNode schema;
            try {
                schema = d.inputSchema() == null || d.inputSchema().isBlank() ? null : JSON.readTree(d.inputSchema());
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("tool '" + d.name() + "': its input schema is not JSON: " + e.getOriginalMessage());
            }
            defs.add(new ToolDefinition(d.name(), d.description(), schema));
        }
        try {
            return switch (choice == null ? "auto" : choice) {
                case "auto" -> new ChatTools(defs, ChatTools.Choice.AUTO, null);
                case "none" -> new ChatTools(defs, ChatTools.Choice.NONE, null);
                case "required" -> new ChatTools(defs, ChatTools.Choice.REQUIRED, null);
                default -> new ChatTools(defs, ChatTools.Choice.REQUIRED, choice);
            };
        } catch (MetagenException e) {
            throw new IllegalArgumentException("toolChoice: " + e.getMessage(), e);
        }
    }

    private static List<dev.metagen.core.ChatMessage> messages(List<Message> messages) {
        List<dev.metagen.core.ChatMessage> out = new ArrayList<>();
        for (Message m : messages) {
            switch (m) {
                case SystemMessage s -> out.add(dev.metagen.core.ChatMessage.system(s.getText()));
                case UserMessage u -> {
                    if (!u.getMedia().isEmpty()) {
                        throw new UnsupportedOperationException("metagen reads text only: a user message with "
                                + u.getMedia().size() + " media attachment(s) is not supported");
                    }
                    out.add(dev.metagen.core.ChatMessage.user(u.getText()));
                }
                case AssistantMessage a -> {
                    if (!a.getMedia().isEmpty()) {
                        throw new UnsupportedOperationException("metagen reads text only: an assistant message with media is not supported");
                    }
                    String text = a.getText() == null ? "" : a.getText();
                    out.add(!a.hasToolCalls() ? dev.metagen.core.ChatMessage.assistant(text)
                            : dev.metagen.core.ChatMessage.assistant(text, a.getToolCalls().stream()
                            .map(c -> new dev.metagen.core.ChatMessage.ToolCall(c.id(), c.name(),
                                    c.arguments() == null || c.arguments().isBlank() ? "{}" : c.arguments()))
                            .toList()));
                }
                case ToolResponseMessage t -> t.getResponses().forEach(r ->
                        out.add(dev.metagen.core.ChatMessage.tool(r.id(), r.name(), r.responseData())));
                default -> throw new UnsupportedOperationException("metagen cannot render a " + m.getMessageType() + " message");
            }
        }
        return out;
    }

    private static Generation generation(String text, ChatEngine.Reply reply) {
        if (reply.hasToolCalls()) {
            AssistantMessage m = AssistantMessage.builder().content(text == null ? "" : text).toolCalls(reply.toolCalls().stream()
                    .map(c -> new AssistantMessage.ToolCall(c.id(), "function", c.name(), c.argumentsJson())).toList()).build();
            return new Generation(m, ChatGenerationMetadata.builder().finishReason("TOOL_CALLS").build());
        }
        return new Generation(new AssistantMessage(text == null ? "" : text), ChatGenerationMetadata.builder()
                .finishReason(reply.finish().apiName().toUpperCase(java.util.Locale.ROOT)).build());
    }

    private ChatResponseMetadata metadata(ChatEngine.Reply reply) {
        ChatResponseMetadata.Builder m = ChatResponseMetadata.builder()
                .id("chatcmpl-" + UUID.randomUUID().toString().replace("-", ""))
                .model(engine.modelName())
                .usage(new DefaultUsage(Math.toIntExact(reply.promptTokens()), Math.toIntExact(reply.completionTokens())))
                .keyValue(COST, reply.costMap())
                .keyValue(TRACE, reply.trace());
        if (reply.strategy() != null) {
            m.keyValue(STRATEGY, reply.strategy());
        }
        return m.build();
    }

    /** The trace of a response of this model (empty when it has none). */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> trace(ChatResponse response) {
        Object t = response.getMetadata().get(TRACE);
        return t instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    /** The cost of a response of this model (empty when it has none). */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> cost(ChatResponse response) {
        Object t = response.getMetadata().get(COST);
        return t instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }
}
