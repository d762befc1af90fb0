package dev.metagen.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.Result;
import dev.metagen.core.Cost;
import dev.metagen.core.Generation;
import dev.metagen.core.Generator;
import dev.metagen.runtime.chat.ChatEngine;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tools through the LangChain4j chat model on stories260K: a required call is decoded under the tool's JSON Schema
 * (so an AiServices {@code @Tool} method gets valid arguments and the answer after its result comes back), tool
 * calls and results in the history reach the template, and an automatic choice reads calls the model writes.
 */
class ToolsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    enum City { PARIS, ROME, OSLO }

    static final class Weather {
        final List<City> asked = new CopyOnWriteArrayList<>();

        @Tool("the weather in a city")
        String weather(@P("the city") City city) {
            asked.add(city);
            return "sunny in " + city;
        }
    }

    interface Assistant {
        Result<String> ask(String question);
    }

    @Test
    void aiServicesToolIsCalledWithSchemaValidArgumentsAndTheAnswerComesBack() {
        List<ChatRequest> seen = new CopyOnWriteArrayList<>();
        ChatModelListener spy = new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext ctx) {
                seen.add(ctx.chatRequest());
            }
        };
        MetagenChatModel model = MetagenChatModel.builder().engine(Stories.engine()).seed(3L).maxOutputTokens(160)
                .listeners(List.of(spy)).build();
        Weather tool = new Weather();
        // the first turn must call a tool; once its result is in, the model answers freely (as OpenAI clients do)
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model).tools(tool)
                .chatRequestTransformer(r -> r.messages().getLast() instanceof UserMessage
                        ? r.toBuilder().parameters(r.parameters().overrideWith(MetagenChatRequestParameters.builder()
                                .toolChoice(ToolChoice.REQUIRED).build())).build()
                        : r)
                .build();
        Result<String> answer = assistant.ask("What is the weather in Paris?");
        assertEquals(1, tool.asked.size(), "the tool ran once: " + tool.asked);
        assertEquals(1, answer.toolExecutions().size());
        assertEquals("sunny in " + tool.asked.getFirst(), answer.toolExecutions().getFirst().result());
        assertNotNull(answer.content());
        assertEquals(2, seen.size());
        assertEquals(ToolChoice.REQUIRED, seen.get(0).toolChoice());
        // the second request carries the call and its result, which the model read
        assertTrue(seen.get(1).messages().get(1) instanceof AiMessage a && a.hasToolExecutionRequests());
        assertTrue(seen.get(1).messages().get(2) instanceof ToolExecutionResultMessage);
    }

    private static ToolSpecification lookup() {
        return ToolSpecification.builder().name("lookup").description("looks a word up")
                .parameters(JsonObjectSchema.builder().addProperty("word", JsonEnumSchema.builder().enumValues("cat", "dog").build())
                        .required("word").build())
                .build();
    }

    @Test
    void requiredCallParsesUnderSeveralSeedsAndFinishesAsToolExecution() throws Exception {
        MetagenChatModel model = MetagenChatModel.builder().engine(Stories.engine()).maxOutputTokens(160).build();
        ToolSpecification other = ToolSpecification.builder().name("nothing").build();
        for (long seed = 1; seed <= 3; seed++) {
            ChatResponse r = model.chat(ChatRequest.builder().messages(UserMessage.from("Look up a word."))
                    .parameters(MetagenChatRequestParameters.builder().seed(seed).toolSpecifications(lookup(), other)
                            .toolChoice(ToolChoice.REQUIRED).build()).build());
            assertEquals(FinishReason.TOOL_EXECUTION, r.finishReason());
            List<ToolExecutionRequest> calls = r.aiMessage().toolExecutionRequests();
            assertEquals(1, calls.size());
            ToolExecutionRequest c = calls.getFirst();
            assertTrue(c.id().startsWith("call_"), c.id());
            JsonNode args = JSON.readTree(c.arguments());
            if (c.name().equals("lookup")) {
                assertTrue(List.of("cat", "dog").contains(args.path("word").asText()), c.arguments());
                assertEquals(1, args.size(), c.arguments());
            } else {
                assertEquals("nothing", c.name());
                assertTrue(args.isObject(), c.arguments());
            }
        }
    }

    @Test
    void historyWithCallsAndResultsIsRenderedAndAutoReadsTheCallTheModelWrites() {
        List<String> prompts = new CopyOnWriteArrayList<>();
        // a generator that writes a Hermes call, as a tool-tuned model would
        Generator writesCall = (prompt, params) -> {
            prompts.add(prompt.text());
            return new Generation("Let me look.<tool_call>\n{\"name\": \"lookup\", \"arguments\": {\"word\": \"dog\"}}\n</tool_call>",
                    new int[0], new double[0], dev.metagen.core.FinishReason.STOP, Cost.ZERO, Map.of());
        };
        MetagenChatModel model = MetagenChatModel.builder().engine(ChatEngine.builder().generator(writesCall).build()).build();
        ToolExecutionRequest call = ToolExecutionRequest.builder().id("call_1").name("lookup").arguments("{\"word\":\"cat\"}").build();
        List<dev.langchain4j.data.message.ChatMessage> history = List.of(UserMessage.from("Look up cat, then dog."),
                AiMessage.from(call), ToolExecutionResultMessage.from(call, "a small animal"));
        ChatResponse r = model.chat(ChatRequest.builder().messages(history)
                .parameters(MetagenChatRequestParameters.builder().toolSpecifications(lookup()).build()).build());
        assertEquals(FinishReason.TOOL_EXECUTION, r.finishReason());
        assertEquals("Let me look.", r.aiMessage().text());
        assertEquals(1, r.aiMessage().toolExecutionRequests().size());
        assertEquals("lookup", r.aiMessage().toolExecutionRequests().getFirst().name());
        assertEquals("{\"word\":\"dog\"}", r.aiMessage().toolExecutionRequests().getFirst().arguments());
        // the plain transcript (no tools in the template) shows the tools, the earlier call and its result
        String shown = prompts.getFirst();
        assertTrue(shown.contains("You can call these tools") && shown.contains("\"lookup\""), shown);
        assertTrue(shown.contains("<tool_call>") && shown.contains("\"cat\""), shown);
        assertTrue(shown.contains("a small animal"), shown);
        // tool choice NONE declares the tools but leaves the answer as text
        ChatResponse none = model.chat(ChatRequest.builder().messages(history)
                .parameters(MetagenChatRequestParameters.builder().toolSpecifications(lookup()).toolChoice(ToolChoice.NONE).build()).build());
        assertFalse(none.aiMessage().hasToolExecutionRequests());
        assertTrue(none.aiMessage().text().contains("<tool_call>"));
    }

    @Test
    void streamingModelCompletesWithTheCallAndSendsNoPieceOfIt() throws Exception {
        MetagenStreamingChatModel model = MetagenStreamingChatModel.builder().engine(Stories.engine()).seed(2L).maxOutputTokens(160).build();
        List<String> pieces = new CopyOnWriteArrayList<>();
        java.util.concurrent.CompletableFuture<ChatResponse> done = new java.util.concurrent.CompletableFuture<>();
        model.chat(ChatRequest.builder().messages(UserMessage.from("Look up a word."))
                .parameters(MetagenChatRequestParameters.builder().toolSpecifications(lookup()).toolChoice(ToolChoice.REQUIRED).build()).build(),
                new dev.langchain4j.model.chat.response.StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String piece) {
                        pieces.add(piece);
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse r) {
                        done.complete(r);
                    }

                    @Override
                    public void onError(Throwable e) {
                        done.completeExceptionally(e);
                    }
                });
        ChatResponse r = done.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(FinishReason.TOOL_EXECUTION, r.finishReason());
        ToolExecutionRequest c = r.aiMessage().toolExecutionRequests().getFirst();
        assertEquals("lookup", c.name());
        assertTrue(List.of("cat", "dog").contains(JSON.readTree(c.arguments()).path("word").asText()), c.arguments());
        assertTrue(pieces.isEmpty(), "the call's JSON is not streamed as text: " + pieces);
    }

    @Test
    void toolsWithAStrategyOrAJsonFormatAreRefusedNamingThem() {
        try (MetagenChatModel m = MetagenChatModel.builder().model(Stories.model()).maxOutputTokens(16)
                .strategy("{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}").build()) {
            dev.langchain4j.exception.InvalidRequestException e = org.junit.jupiter.api.Assertions.assertThrows(
                    dev.langchain4j.exception.InvalidRequestException.class, () -> m.chat(ChatRequest.builder()
                            .messages(UserMessage.from("x")).toolSpecifications(lookup()).build()));
            assertTrue(e.getMessage().contains("tool_loop"), e.getMessage());
        }
        MetagenChatModel plain = MetagenChatModel.builder().engine(Stories.engine()).build();
        dev.langchain4j.exception.InvalidRequestException json = org.junit.jupiter.api.Assertions.assertThrows(
                dev.langchain4j.exception.InvalidRequestException.class, () -> plain.chat(ChatRequest.builder()
                        .messages(UserMessage.from("x")).toolSpecifications(lookup()).toolChoice(ToolChoice.REQUIRED)
                        .responseFormat(dev.langchain4j.model.chat.request.ResponseFormat.JSON).build()));
        assertTrue(json.getMessage().contains("required tool call"), json.getMessage());
    }
}
