package dev.metagen.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonIntegerSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatRequestParameters;
import dev.langchain4j.model.output.FinishReason;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.GenerationParams;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.runtime.ModelLeaf;
import dev.metagen.runtime.ModelRegistry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The LangChain4j chat models over stories260K: text, parameters, usage, cost, strategies, streaming and refusals. */
class MetagenChatModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static MetagenChatModel model() {
        return MetagenChatModel.builder().engine(Stories.engine()).build();
    }

    private static ChatRequest.Builder once(String user) {
        return ChatRequest.builder().messages(SystemMessage.from("You tell stories."), UserMessage.from(user));
    }

    /** The greedy answer the engine's own decode loop gives for the plain transcript of these messages. */
    private static String greedyReference(List<ChatMessage> messages, int maxTokens) {
        String rendered = ChatTemplate.fallback().render(messages, true);
        ModelLeaf leaf = new ModelLeaf(Stories.model(), ModelRegistry.of(Stories.model()), true);
        GenerationParams p = GenerationParams.greedy(maxTokens).withStop(ChatTemplate.fallback().stopStrings());
        return leaf.generate(Stories.model().tokenizer().encode(rendered, true, true), p, t -> {}).text();
    }

    @Test
    void greedyAnswerIsTheDecodeLoopsAndUsageCountsTokens() {
        ChatResponse r = model().chat(once("Once upon a time").temperature(0.0).maxOutputTokens(24).build());
        String expected = greedyReference(List.of(ChatMessage.system("You tell stories."), ChatMessage.user("Once upon a time")), 24);
        assertFalse(expected.isEmpty());
        assertEquals(expected, r.aiMessage().text());
        String rendered = ChatTemplate.fallback().render(List.of(ChatMessage.system("You tell stories."), ChatMessage.user("Once upon a time")), true);
        assertEquals(Stories.model().tokenizer().encode(rendered, true, true).length, r.tokenUsage().inputTokenCount());
        assertTrue(r.tokenUsage().outputTokenCount() > 0 && r.tokenUsage().outputTokenCount() <= 24);
        MetagenChatResponseMetadata meta = assertInstanceOf(MetagenChatResponseMetadata.class, r.metadata());
        assertEquals(r.tokenUsage().outputTokenCount().longValue(), meta.cost().generatedTokens());
        assertTrue(meta.cost().modelCalls() >= 1);
        assertEquals("stories260K", r.modelName());
    }

    @Test
    void maxOutputTokensStopsAtTheLimit() {
        ChatResponse r = model().chat(once("Tom").temperature(0.0).maxOutputTokens(3).build());
        assertEquals(3, r.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, r.finishReason());
    }

    @Test
    void stopSequenceEndsTheAnswer() {
        String free = model().chat(once("Lily").temperature(0.0).maxOutputTokens(40).build()).aiMessage().text();
        int space = free.indexOf(' ', 3);
        assertTrue(space > 0, free);
        String stop = free.substring(space, space + 2);
        ChatResponse r = model().chat(once("Lily").temperature(0.0).maxOutputTokens(40).stopSequences(List.of(stop)).build());
        assertEquals(free.substring(0, free.indexOf(stop)), r.aiMessage().text());
        assertEquals(FinishReason.STOP, r.finishReason());
    }

    @Test
    void seedMakesSamplingReproducibleAndTopKOneIsGreedy() {
        MetagenChatModel m = model();
        ChatRequest a = ChatRequest.builder().messages(UserMessage.from("A dog"))
                .parameters(MetagenChatRequestParameters.builder().temperature(1.0).maxOutputTokens(30).seed(7L).build()).build();
        ChatRequest b = ChatRequest.builder().messages(UserMessage.from("A dog"))
                .parameters(MetagenChatRequestParameters.builder().temperature(1.0).maxOutputTokens(30).seed(8L).build()).build();
        assertEquals(m.chat(a).aiMessage().text(), m.chat(a).aiMessage().text());
        assertNotEquals(m.chat(a).aiMessage().text(), m.chat(b).aiMessage().text());
        ChatRequest topK = ChatRequest.builder().messages(UserMessage.from("A dog"))
                .parameters(MetagenChatRequestParameters.builder().temperature(1.5).topK(1).maxOutputTokens(30).seed(9L).build()).build();
        assertEquals(m.chat(ChatRequest.builder().messages(UserMessage.from("A dog")).temperature(0.0).maxOutputTokens(30).build()).aiMessage().text(),
                m.chat(topK).aiMessage().text());
    }

    @Test
    void penaltiesChangeTheDistribution() {
        MetagenChatModel m = model();
        String plain = m.chat(once("The cat").temperature(0.0).maxOutputTokens(40).build()).aiMessage().text();
        String penalized = m.chat(once("The cat").temperature(0.0).maxOutputTokens(40).frequencyPenalty(2.0).presencePenalty(2.0).build()).aiMessage().text();
        assertNotEquals(plain, penalized);
    }

    @Test
    void jsonSchemaResponseFormatIsDecodedUnderTheConstraint() throws Exception {
        JsonSchema schema = JsonSchema.builder().name("Age").rootElement(JsonObjectSchema.builder()
                .addProperty("age", new JsonIntegerSchema()).required("age").additionalProperties(false).build()).build();
        ChatResponse r = model().chat(once("How old is Tom?").temperature(0.0).maxOutputTokens(40)
                .responseFormat(ResponseFormat.builder().type(ResponseFormatType.JSON).jsonSchema(schema).build()).build());
        JsonNode json = JSON.readTree(r.aiMessage().text());
        assertTrue(json.path("age").isIntegralNumber(), r.aiMessage().text());
        assertEquals(1, json.size());
        ChatResponse any = model().chat(once("Tom").temperature(0.0).maxOutputTokens(40).responseFormat(ResponseFormat.JSON).build());
        assertTrue(JSON.readTree(any.aiMessage().text()).isObject(), any.aiMessage().text());
    }

    @Test
    void strategyRunsEveryCallAndItsTraceAndCostAreInTheMetadata() {
        try (MetagenChatModel m = MetagenChatModel.builder().model(Stories.model()).maxOutputTokens(16)
                .strategy("{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}").build()) {
            ChatResponse r = m.chat(ChatRequest.builder().messages(UserMessage.from("Ben"))
                    .parameters(MetagenChatRequestParameters.builder().seed(3L).temperature(0.8).build()).build());
            MetagenChatResponseMetadata meta = (MetagenChatResponseMetadata) r.metadata();
            assertEquals("best_of_n", meta.strategy());
            assertEquals("best_of_n", meta.trace().get("strategy"));
            assertEquals(3, ((List<?>) meta.trace().get("candidates")).size(), meta.trace().toString());
            assertEquals(3, meta.trace().get("n"));
            assertTrue(meta.cost().modelCalls() >= 3, meta.cost().toString()); // three samples, each at least its prefill
            assertEquals(meta.cost().generatedTokens(), r.tokenUsage().outputTokenCount().longValue());
            assertTrue(r.tokenUsage().outputTokenCount() <= 3 * 16);
            assertFalse(r.aiMessage().text().isEmpty());
            // the request's parameters reach the strategy's leaves: the token limit and the JSON Schema constraint
            ChatResponse limited = m.chat(ChatRequest.builder().messages(UserMessage.from("Ben"))
                    .parameters(MetagenChatRequestParameters.builder().seed(3L).maxOutputTokens(4).build()).build());
            for (Object c : (List<?>) ((MetagenChatResponseMetadata) limited.metadata()).trace().get("candidates")) {
                assertTrue(((Number) ((java.util.Map<?, ?>) c).get("generated_tokens")).intValue() <= 4, c.toString());
            }
            JsonSchema schema = JsonSchema.builder().name("Age").rootElement(JsonObjectSchema.builder()
                    .addProperty("age", new JsonIntegerSchema()).required("age").additionalProperties(false).build()).build();
            ChatResponse json = m.chat(ChatRequest.builder().messages(UserMessage.from("How old?"))
                    .parameters(MetagenChatRequestParameters.builder().seed(3L).maxOutputTokens(40)
                            .responseFormat(ResponseFormat.builder().type(ResponseFormatType.JSON).jsonSchema(schema).build()).build()).build());
            try {
                assertTrue(JSON.readTree(json.aiMessage().text()).path("age").isIntegralNumber(), json.aiMessage().text());
            } catch (java.io.IOException e) {
                throw new AssertionError(json.aiMessage().text(), e);
            }
        }
    }

    @Test
    void streamingPiecesMakeTheSameAnswer() throws Exception {
        MetagenStreamingChatModel m = MetagenStreamingChatModel.builder().engine(Stories.engine()).build();
        List<String> pieces = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        m.chat(once("Once upon a time").temperature(0.0).maxOutputTokens(24).build(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                pieces.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertTrue(pieces.size() > 1, pieces.toString());
        assertEquals(String.join("", pieces), r.aiMessage().text());
        assertEquals(model().chat(once("Once upon a time").temperature(0.0).maxOutputTokens(24).build()).aiMessage().text(), r.aiMessage().text());
    }

    @Test
    void theStreamingHandleCancelsTheGeneration() throws Exception {
        MetagenStreamingChatModel m = MetagenStreamingChatModel.builder().engine(Stories.engine()).build();
        List<String> pieces = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<ChatResponse> completed = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        m.chat(once("Once upon a time").temperature(0.0).maxOutputTokens(200).build(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(dev.langchain4j.model.chat.response.PartialResponse partial,
                                          dev.langchain4j.model.chat.response.PartialResponseContext context) {
                pieces.add(partial.text());
                context.streamingHandle().cancel();
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                completed.add(response);
            }

            @Override
            public void onError(Throwable error) {
                completed.add(null);
            }
        });
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (!before.contains(t) && t.getName().startsWith("metagen-stream-")) {
                t.join();
            }
        }
        assertEquals(1, pieces.size(), pieces.toString());
        assertTrue(completed.isEmpty(), "a cancelled stream hears nothing more");
    }

    @Test
    void streamingErrorsReachTheHandler() throws Exception {
        MetagenStreamingChatModel m = MetagenStreamingChatModel.builder().engine(Stories.engine()).build();
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        m.chat(once("x").temperature(-1.0).build(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                error.complete(null);
            }

            @Override
            public void onError(Throwable e) {
                error.complete(e);
            }
        });
        Throwable e = error.get(30, TimeUnit.SECONDS);
        assertInstanceOf(InvalidRequestException.class, e);
        assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    }

    @Test
    void whatCannotBeHonouredIsRefusedNamingIt() {
        MetagenChatModel m = model();
        ToolSpecification tool = ToolSpecification.builder().name("weather").description("the weather").build();
        InvalidRequestException twice = assertThrows(InvalidRequestException.class,
                () -> m.chat(once("x").toolSpecifications(tool, tool).build()));
        assertTrue(twice.getMessage().contains("weather"), twice.getMessage());
        InvalidRequestException noTools = assertThrows(InvalidRequestException.class,
                () -> m.chat(once("x").toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build()));
        assertTrue(noTools.getMessage().contains("toolChoice"), noTools.getMessage());
        UnsupportedFeatureException foreign = assertThrows(UnsupportedFeatureException.class, () -> m.chat(ChatRequest.builder()
                .messages(UserMessage.from("x")).parameters(OpenAiChatRequestParameters.builder().seed(1).logitBias(java.util.Map.of("1", 5)).build()).build()));
        assertTrue(foreign.getMessage().contains("OpenAiChatRequestParameters"), foreign.getMessage());
        UnsupportedFeatureException image = assertThrows(UnsupportedFeatureException.class, () -> m.chat(ChatRequest.builder()
                .messages(UserMessage.from(TextContent.from("what is it?"), ImageContent.from("https://example.invalid/cat.png"))).build()));
        assertTrue(image.getMessage().contains("image"), image.getMessage());
        InvalidRequestException name = assertThrows(InvalidRequestException.class, () -> m.chat(once("x").modelName("gpt-4o").build()));
        assertTrue(name.getMessage().contains("gpt-4o"), name.getMessage());
        InvalidRequestException topP = assertThrows(InvalidRequestException.class, () -> m.chat(once("x").topP(0.0).build()));
        assertTrue(topP.getMessage().contains("top-p"), topP.getMessage());
        InvalidRequestException max = assertThrows(InvalidRequestException.class, () -> m.chat(once("x").maxOutputTokens(0).build()));
        assertTrue(max.getMessage().contains("maxTokens"), max.getMessage());
    }
}
