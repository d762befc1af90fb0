package dev.metagen.langchain4j;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.metagen.meta.tools.ToolDefinition;
import dev.metagen.runtime.chat.ChatTools;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.JsonSchemaElementJsonUtils;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.runtime.chat.ChatEngine;
import dev.metagen.runtime.chat.ChatSettings;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.UUID;

/** The mapping between LangChain4j's chat requests and responses and metagen's {@link ChatEngine}, shared by both models. */
final class LangChain4jChat {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LangChain4jChat() {
    }

    /** The conversation in metagen's shape; tool calls and results included; content metagen cannot read (images, audio) is refused. */
    static List<dev.metagen.core.ChatMessage> messages(List<ChatMessage> messages) {
        List<dev.metagen.core.ChatMessage> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            switch (m) {
                case SystemMessage s -> out.add(dev.metagen.core.ChatMessage.system(s.text()));
                case UserMessage u -> {
                    if (!u.hasSingleText()) {
                        throw new UnsupportedFeatureException("metagen reads text only: a user message with "
                                + u.contents().stream().map(c -> c.type().name().toLowerCase(java.util.Locale.ROOT)).toList()
                                + " content is not supported");
                    }
                    out.add(u.name() == null ? dev.metagen.core.ChatMessage.user(u.singleText())
                            : new dev.metagen.core.ChatMessage("user", u.singleText(), u.name(), List.of(), null));
                }
                case AiMessage a -> {
                    String text = a.text() == null ? "" : a.text();
                    if (a.hasToolExecutionRequests()) {
                        out.add(dev.metagen.core.ChatMessage.assistant(text, a.toolExecutionRequests().stream()
                                .map(r -> new dev.metagen.core.ChatMessage.ToolCall(r.id(), r.name(),
                                        r.arguments() == null || r.arguments().isBlank() ? "{}" : r.arguments()))
                                .toList()));
                    } else {
                        out.add(dev.metagen.core.ChatMessage.assistant(text));
                    }
                }
                case ToolExecutionResultMessage t -> out.add(dev.metagen.core.ChatMessage.tool(t.id(), t.toolName(), t.text()));
                default -> throw new UnsupportedFeatureException("metagen cannot render a " + m.type() + " message");
            }
        }
        return out;
    }

    /**
     * The request's tool specifications and tool choice as metagen's, or null when it declares none; each tool's
     * parameters are read as OpenAI's strict schemas, as {@link #strict} says, so that arguments fit the Java method.
     */
    static ChatTools tools(ChatRequestParameters p) {
        List<ToolSpecification> specs = p.toolSpecifications();
        if (specs == null || specs.isEmpty()) {
            if (p.toolChoice() == ToolChoice.REQUIRED) {
                throw new InvalidRequestException("toolChoice REQUIRED needs tool specifications, and the request gives none");
            }
            return null; // AUTO and NONE without tools hold trivially
        }
        List<ToolDefinition> defs = new ArrayList<>();
        for (ToolSpecification t : specs) {
            JsonNode params = t.parameters() == null ? null : JSON.valueToTree(strict(JsonSchemaElementJsonUtils.toMap(t.parameters())));
            defs.add(new ToolDefinition(t.name(), t.description(), params));
        }
        ChatTools.Choice choice = switch (p.toolChoice() == null ? ToolChoice.AUTO : p.toolChoice()) {
            case AUTO -> ChatTools.Choice.AUTO;
            case REQUIRED -> ChatTools.Choice.REQUIRED;
            case NONE -> ChatTools.Choice.NONE;
        };
        try {
            return new ChatTools(defs, choice, null);
        } catch (MetagenException e) {
            throw new InvalidRequestException("toolSpecifications: " + e.getMessage(), e);
        }
    }

    /** Every parameter of the request mapped onto metagen's, or refused naming it. */
    static GenerationParams params(ChatEngine engine, ChatRequestParameters p, ChatTools tools) {
        if (p.modelName() != null && !p.modelName().equals(engine.modelName())) {
            throw new InvalidRequestException("modelName '" + p.modelName() + "' is not this model's ('" + engine.modelName()
                    + "'): build another MetagenChatModel for another model");
        }
        String schema = null;
        boolean jsonObject = false;
        ResponseFormat rf = p.responseFormat();
        if (rf != null && rf.type() == ResponseFormatType.JSON) {
            if (rf.jsonSchema() != null && rf.jsonSchema().rootElement() != null) {
                try {
                    schema = JSON.writeValueAsString(strict(JsonSchemaElementJsonUtils.toMap(rf.jsonSchema().rootElement())));
                } catch (JsonProcessingException e) {
                    throw new InvalidRequestException("responseFormat: the JSON schema cannot be written: " + e.getOriginalMessage());
                }
            } else {
                jsonObject = true;
            }
        }
        Long seed = p instanceof MetagenChatRequestParameters m ? m.seed() : null;
        try {
            return engine.params(new ChatSettings(p.maxOutputTokens(), p.temperature(), p.topP(), p.topK(),
                    p.frequencyPenalty(), p.presencePenalty(), p.stopSequences(), seed, schema, jsonObject), tools);
        } catch (MetagenException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
    }

    /**
     * The schema as OpenAI's strict structured outputs read it, which is what LangChain4j's schemas of records and
     * classes mean: an object without {@code additionalProperties} allows no other keys, and one without
     * {@code required} requires every property. Plain JSON Schema would let a model write any other key and omit
     * every field, which then fails to parse into the Java type.
     */
    @SuppressWarnings("unchecked")
    static Object strict(Object node) {
        if (node instanceof List<?> list) {
            return list.stream().map(LangChain4jChat::strict).toList();
        }
        if (!(node instanceof Map<?, ?> map)) {
            return node;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String k = String.valueOf(e.getKey());
            Object v = e.getValue();
            if ((k.equals("properties") || k.equals("$defs")) && v instanceof Map<?, ?> props) {
                Map<String, Object> p = new LinkedHashMap<>();
                props.forEach((name, schema) -> p.put(String.valueOf(name), strict(schema)));
                out.put(k, p);
            } else if (k.equals("items") || k.equals("anyOf") || k.equals("oneOf") || k.equals("allOf")) {
                out.put(k, strict(v));
            } else {
                out.put(k, v);
            }
        }
        if ("object".equals(out.get("type"))) {
            out.putIfAbsent("additionalProperties", false);
            if (!out.containsKey("required") && out.get("properties") instanceof Map<?, ?> props) {
                out.put("required", new ArrayList<>((java.util.Set<String>) props.keySet()));
            }
        }
        return out;
    }

    static ChatResponse response(ChatEngine engine, ChatEngine.Reply reply) {
        MetagenChatResponseMetadata meta = MetagenChatResponseMetadata.builder()
                .id("chatcmpl-" + UUID.randomUUID().toString().replace("-", ""))
                .modelName(engine.modelName())
                .tokenUsage(new TokenUsage(Math.toIntExact(reply.promptTokens()), Math.toIntExact(reply.completionTokens())))
                .finishReason(reply.hasToolCalls() ? FinishReason.TOOL_EXECUTION : finish(reply.finish()))
                .cost(reply.cost())
                .strategy(reply.strategy())
                .trace(reply.trace())
                .build();
        AiMessage message = !reply.hasToolCalls() ? AiMessage.from(reply.text())
                : AiMessage.builder().text(reply.content()).toolExecutionRequests(reply.toolCalls().stream()
                        .map(c -> ToolExecutionRequest.builder().id(c.id()).name(c.name()).arguments(c.argumentsJson()).build())
                        .toList()).build();
        return ChatResponse.builder().aiMessage(message).metadata(meta).build();
    }

    static FinishReason finish(dev.metagen.core.FinishReason f) {
        return switch (f) {
            case STOP -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case BUDGET, CANCELLED -> FinishReason.OTHER; // the trace's "stopped" says which
        };
    }

    static RuntimeException translate(MetagenException e) {
        return new InvalidRequestException(e.getMessage(), e);
    }

    static List<dev.metagen.core.ChatMessage> messages(ChatRequest request) {
        return messages(request.messages());
    }
}
