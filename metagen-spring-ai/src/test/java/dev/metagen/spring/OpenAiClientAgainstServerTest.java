package dev.metagen.spring;

import dev.metagen.server.OpenAiServer;
import dev.metagen.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spring AI's own OpenAI chat model (spring-ai-openai) against metagen's server over stories260K: chat, streaming and
 * native structured output ({@code response_format: json_schema}); the server's greedy answer is the in-process
 * model's.
 */
class OpenAiClientAgainstServerTest {
    private static OpenAiServer server;

    record Pet(String name, int legs, boolean friendly) {
    }

    @BeforeAll
    static void start() {
        server = OpenAiServer.start(Stories.model(), "stories260K", ServerConfig.defaults().withPort(0));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static OpenAiChatModel client(int maxTokens) {
        return OpenAiChatModel.builder().options(OpenAiChatOptions.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey("unused").model("stories260K").temperature(0.0).maxTokens(maxTokens).build()).build();
    }

    private static String inProcessGreedy(String user, int maxTokens) {
        return new MetagenChatModel(Stories.engine()).call(new Prompt(new UserMessage(user),
                MetagenChatOptions.builder().temperature(0.0).maxTokens(maxTokens).build())).getResult().getOutput().getText();
    }

    @Test
    void chatAnswersAsTheInProcessModel() {
        ChatResponse r = client(24).call(new Prompt("Once upon a time"));
        assertFalse(r.getResult().getOutput().getText().isEmpty());
        assertEquals(inProcessGreedy("Once upon a time", 24), r.getResult().getOutput().getText());
        assertTrue(r.getMetadata().getUsage().getCompletionTokens() > 0);
    }

    @Test
    void streamingPiecesMakeTheAnswer() {
        List<String> pieces = ChatClient.create(client(24)).prompt().user("Once upon a time").stream().content().collectList().block();
        assertNotNull(pieces);
        assertTrue(pieces.size() > 1, pieces.toString());
        assertEquals(inProcessGreedy("Once upon a time", 24), String.join("", pieces));
    }

    @Test
    void nativeStructuredOutputParses() {
        Pet pet = ChatClient.create(client(400)).prompt().user("Which pet?")
                .advisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT).call().entity(Pet.class);
        assertNotNull(pet);
        assertNotNull(pet.name());
    }

    @Test
    void toolChoiceRequiredGivesACallWhoseArgumentsParse() throws Exception {
        java.util.List<ToolsTest.City> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        OpenAiChatOptions options = OpenAiChatOptions.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey("unused").model("stories260K").seed(3).maxTokens(160)
                .toolCallbacks(List.of(ToolsTest.weather(asked))).toolChoice("required").build();
        ChatResponse r = OpenAiChatModel.builder().options(options).build().call(new Prompt("What is the weather in Paris?", options));
        org.springframework.ai.chat.messages.AssistantMessage out = r.getResult().getOutput();
        assertEquals(1, out.getToolCalls().size(), out.toString());
        assertEquals("weather", out.getToolCalls().getFirst().name());
        com.fasterxml.jackson.databind.JsonNode args = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.getToolCalls().getFirst().arguments());
        ToolsTest.City.valueOf(args.path("city").asText()); // decoded under the schema: one of the enum's values
        assertTrue(asked.isEmpty(), "the model asks; ChatClient's tool calling runs tools");
    }
}
