package dev.metagen.langchain4j;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.service.AiServices;
import dev.metagen.server.OpenAiServer;
import dev.metagen.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LangChain4j's own OpenAI client (langchain4j-open-ai) against metagen's server over stories260K: chat, streaming and
 * structured output through {@code response_format: json_schema}; the server's greedy answer is the in-process
 * adapter's.
 */
class OpenAiClientAgainstServerTest {
    private static OpenAiServer server;

    record Pet(String name, int legs, boolean friendly) {
    }

    interface PetShop {
        Pet pet(String question);
    }

    @BeforeAll
    static void start() {
        server = OpenAiServer.start(Stories.model(), "stories260K", ServerConfig.defaults().withPort(0));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String base() {
        return "http://127.0.0.1:" + server.port() + "/v1";
    }

    private static String inProcessGreedy(String user, int maxTokens) {
        return MetagenChatModel.builder().engine(Stories.engine()).build()
                .chat(ChatRequest.builder().messages(UserMessage.from(user)).temperature(0.0).maxOutputTokens(maxTokens).build())
                .aiMessage().text();
    }

    @Test
    void chatAnswersAsTheInProcessAdapter() {
        OpenAiChatModel client = OpenAiChatModel.builder().baseUrl(base()).apiKey("unused").modelName("stories260K")
                .temperature(0.0).maxTokens(24).build();
        ChatResponse r = client.chat(ChatRequest.builder().messages(UserMessage.from("Once upon a time")).build());
        assertFalse(r.aiMessage().text().isEmpty());
        assertEquals(inProcessGreedy("Once upon a time", 24), r.aiMessage().text());
        assertTrue(r.tokenUsage().outputTokenCount() > 0 && r.tokenUsage().outputTokenCount() <= 24);
    }

    @Test
    void aRemoteGeneratorBehindMetagensChatModelAnswersAsTheLocalModel() {
        // the chat model renders the transcript itself and sends it to /v1/completions
        try (dev.metagen.client.RemoteGenerator remote = dev.metagen.client.RemoteGenerator.builder().endpoint(base()).build();
             MetagenChatModel m = MetagenChatModel.builder().generator(remote).modelName("stories260K").build()) {
            ChatResponse r = m.chat(ChatRequest.builder().messages(UserMessage.from("Once upon a time")).temperature(0.0).maxOutputTokens(24).build());
            assertEquals(inProcessGreedy("Once upon a time", 24), r.aiMessage().text());
            MetagenChatResponseMetadata meta = (MetagenChatResponseMetadata) r.metadata();
            assertEquals(1, meta.cost().modelCalls());
            assertEquals(meta.cost().generatedTokens(), r.tokenUsage().outputTokenCount().longValue());
        }
    }

    @Test
    void streamingPiecesMakeTheAnswer() throws Exception {
        OpenAiStreamingChatModel client = OpenAiStreamingChatModel.builder().baseUrl(base()).apiKey("unused")
                .modelName("stories260K").temperature(0.0).maxTokens(24).build();
        List<String> pieces = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        client.chat("Once upon a time", new StreamingChatResponseHandler() {
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
        assertEquals(inProcessGreedy("Once upon a time", 24), r.aiMessage().text());
    }

    @Test
    void structuredOutputThroughJsonSchemaResponseFormatParses() {
        OpenAiChatModel client = OpenAiChatModel.builder().baseUrl(base()).apiKey("unused").modelName("stories260K")
                .temperature(0.0).maxTokens(400).supportedCapabilities(Capability.RESPONSE_FORMAT_JSON_SCHEMA)
                .strictJsonSchema(true).build();
        Pet pet = AiServices.create(PetShop.class, client).pet("Which pet?");
        assertNotNull(pet.name());
    }

    interface Assistant {
        dev.langchain4j.service.Result<String> ask(String question);
    }

    @Test
    void aiServicesToolsRunThroughTheServerWithToolChoiceRequired() {
        OpenAiChatModel client = OpenAiChatModel.builder().baseUrl(base()).apiKey("unused").modelName("stories260K")
                .seed(3).maxTokens(160).build();
        ToolsTest.Weather tool = new ToolsTest.Weather();
        List<ChatRequest> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(client).tools(tool)
                .chatRequestTransformer(r -> {
                    ChatRequest out = r.messages().getLast() instanceof UserMessage
                            ? r.toBuilder().toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build() : r;
                    sent.add(out);
                    return out;
                })
                .build();
        dev.langchain4j.service.Result<String> answer = assistant.ask("What is the weather in Paris?");
        // tool_choice required: the server decoded the call under the tool's schema, so the enum argument bound
        assertEquals(1, tool.asked.size(), "the tool ran once: " + tool.asked);
        assertEquals("sunny in " + tool.asked.getFirst(), answer.toolExecutions().getFirst().result());
        assertNotNull(answer.content());
        assertEquals(2, sent.size());
        assertEquals(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED, sent.getFirst().toolChoice());
    }
}
