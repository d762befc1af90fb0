package dev.metagen.spring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.GenerationParams;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.runtime.ModelLeaf;
import dev.metagen.runtime.ModelRegistry;
import dev.metagen.runtime.chat.ChatEngine;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.tool.function.FunctionToolCallback;
import org.springframework.util.MimeTypeUtils;

import java.net.URI;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Spring AI chat model over stories260K: text, options, usage, cost, strategies, streaming, ChatClient and refusals. */
class SpringAiChatModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A structured answer: on stories260K its values are nonsense, but its JSON always parses. */
    record Hero(String name, int age, boolean brave) {
    }

    private static MetagenChatModel model() {
        return new MetagenChatModel(Stories.engine());
    }

    private static Prompt prompt(String user, MetagenChatOptions options) {
        return new Prompt(List.of(new SystemMessage("You tell stories."), new UserMessage(user)), options);
    }

    private static MetagenChatOptions.Builder greedy(int maxTokens) {
        return MetagenChatOptions.builder().temperature(0.0).maxTokens(maxTokens);
    }

    private static String greedyReference(List<ChatMessage> messages, int maxTokens) {
        String rendered = ChatTemplate.fallback().render(messages, true);
        ModelLeaf leaf = new ModelLeaf(Stories.model(), ModelRegistry.of(Stories.model()), true);
        GenerationParams p = GenerationParams.greedy(maxTokens).withStop(ChatTemplate.fallback().stopStrings());
        return leaf.generate(Stories.model().tokenizer().encode(rendered, true, true), p, t -> {}).text();
    }

    @Test
    void greedyAnswerIsTheDecodeLoopsWithUsageAndCost() {
        ChatResponse r = model().call(prompt("Once upon a time", greedy(24).build()));
        List<ChatMessage> messages = List.of(ChatMessage.system("You tell stories."), ChatMessage.user("Once upon a time"));
        assertEquals(greedyReference(messages, 24), r.getResult().getOutput().getText());
        assertEquals(Stories.model().tokenizer().encode(ChatTemplate.fallback().render(messages, true), true, true).length,
                r.getMetadata().getUsage().getPromptTokens());
        int completion = r.getMetadata().getUsage().getCompletionTokens();
        assertTrue(completion > 0 && completion <= 24);
        assertEquals((long) completion, MetagenChatModel.cost(r).get("generated_tokens"));
        assertEquals("stories260K", r.getMetadata().getModel());
    }

    @Test
    void optionsAct() {
        MetagenChatModel m = model();
        ChatResponse three = m.call(prompt("Tom", greedy(3).build()));
        assertEquals(3, three.getMetadata().getUsage().getCompletionTokens());
        assertEquals("LENGTH", three.getResult().getMetadata().getFinishReason());
        MetagenChatOptions seven = MetagenChatOptions.builder().temperature(1.0).maxTokens(30).seed(7L).build();
        MetagenChatOptions eight = MetagenChatOptions.builder().temperature(1.0).maxTokens(30).seed(8L).build();
        assertEquals(m.call(prompt("A dog", seven)).getResult().getOutput().getText(), m.call(prompt("A dog", seven)).getResult().getOutput().getText());
        assertNotEquals(m.call(prompt("A dog", seven)).getResult().getOutput().getText(), m.call(prompt("A dog", eight)).getResult().getOutput().getText());
        String free = m.call(prompt("Lily", greedy(40).build())).getResult().getOutput().getText();
        String stop = free.substring(free.indexOf(' ', 3), free.indexOf(' ', 3) + 2);
        ChatResponse stopped = m.call(prompt("Lily", greedy(40).stopSequences(List.of(stop)).build()));
        assertEquals(free.substring(0, free.indexOf(stop)), stopped.getResult().getOutput().getText());
        assertEquals("STOP", stopped.getResult().getMetadata().getFinishReason());
        // Spring AI's portable options are read too
        assertEquals(m.call(prompt("Tom", greedy(12).build())).getResult().getOutput().getText(),
                m.call(new Prompt(List.of(new SystemMessage("You tell stories."), new UserMessage("Tom")),
                        ChatOptions.builder().temperature(0.0).maxTokens(12).build())).getResult().getOutput().getText());
        assertNotEquals(free, m.call(prompt("Lily", greedy(40).frequencyPenalty(2.0).presencePenalty(2.0).build())).getResult().getOutput().getText());
    }

    @Test
    void outputSchemaIsDecodedAsAConstraint() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"}},\"required\":[\"age\"],\"additionalProperties\":false}";
        ChatResponse r = model().call(prompt("How old?", greedy(40).outputSchema(schema).build()));
        JsonNode json = JSON.readTree(r.getResult().getOutput().getText());
        assertTrue(json.path("age").isIntegralNumber(), json.toString());
        assertEquals(1, json.size());
    }

    @Test
    void chatClientEntityUsesNativeStructuredOutput() {
        ChatClient client = ChatClient.create(new MetagenChatModel(Stories.engine(), MetagenChatOptions.builder().maxTokens(400).build()));
        Hero h = client.prompt().user("Tell me about the hero.").options(MetagenChatOptions.builder().seed(1L))
                .advisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT).call().entity(Hero.class);
        assertNotNull(h);
        assertNotNull(h.name());
    }

    @Test
    void streamingPiecesMakeTheAnswer() {
        MetagenChatModel m = model();
        List<ChatResponse> chunks = m.stream(prompt("Once upon a time", greedy(24).build())).collectList().block();
        assertNotNull(chunks);
        StringBuilder text = new StringBuilder();
        for (ChatResponse c : chunks) {
            text.append(c.getResult().getOutput().getText());
        }
        assertTrue(chunks.size() > 2, chunks.toString());
        ChatResponse whole = m.call(prompt("Once upon a time", greedy(24).build()));
        assertEquals(whole.getResult().getOutput().getText(), text.toString());
        ChatResponse last = chunks.getLast();
        assertEquals(whole.getResult().getMetadata().getFinishReason(), last.getResult().getMetadata().getFinishReason());
        assertTrue(last.getMetadata().getUsage().getCompletionTokens() > 0);
        String viaClient = String.join("", ChatClient.create(m).prompt().system("You tell stories.").user("Once upon a time")
                .options(greedy(24)).stream().content().collectList().block());
        assertEquals(text.toString(), viaClient);
    }

    @Test
    void strategyTraceAndCostAreInTheMetadata() {
        try (ChatEngine e = ChatEngine.builder().model(Stories.model()).maxTokens(16)
                .strategy("{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}").build()) {
            ChatResponse r = new MetagenChatModel(e).call(new Prompt("Ben", MetagenChatOptions.builder().seed(3L).build()));
            assertEquals("best_of_n", r.getMetadata().get(MetagenChatModel.STRATEGY));
            Map<String, Object> trace = MetagenChatModel.trace(r);
            assertEquals(3, ((List<?>) trace.get("candidates")).size());
            assertTrue((Long) MetagenChatModel.cost(r).get("model_calls") >= 3);
            assertEquals(MetagenChatModel.cost(r).get("generated_tokens"), (long) r.getMetadata().getUsage().getCompletionTokens());
            assertFalse(r.getResult().getOutput().getText().isEmpty());
        }
    }

    @Test
    void whatCannotBeHonouredIsRefusedNamingIt() {
        MetagenChatModel m = model();
        FunctionToolCallback<String, String> weather = FunctionToolCallback.builder("weather", (String city) -> "sunny")
                .description("the weather").inputType(String.class).build();
        IllegalArgumentException unknownTool = assertThrows(IllegalArgumentException.class, () -> m.call(new Prompt("x",
                MetagenChatOptions.builder().toolCallbacks(List.of(weather)).toolChoice("forecast").build())));
        assertTrue(unknownTool.getMessage().contains("forecast") && unknownTool.getMessage().contains("weather"), unknownTool.getMessage());
        IllegalArgumentException noTools = assertThrows(IllegalArgumentException.class,
                () -> m.call(new Prompt("x", MetagenChatOptions.builder().toolChoice("required").build())));
        assertTrue(noTools.getMessage().contains("toolChoice"), noTools.getMessage());
        IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class,
                () -> m.call(new Prompt("x", OpenAiChatOptions.builder().seed(1).build())));
        assertTrue(foreign.getMessage().contains("OpenAiChatOptions"), foreign.getMessage());
        UnsupportedOperationException media = assertThrows(UnsupportedOperationException.class, () -> m.call(new Prompt(
                UserMessage.builder().text("what is it?").media(new Media(MimeTypeUtils.IMAGE_PNG, URI.create("https://example.invalid/cat.png"))).build())));
        assertTrue(media.getMessage().contains("media"), media.getMessage());
        IllegalArgumentException name = assertThrows(IllegalArgumentException.class,
                () -> m.call(new Prompt("x", MetagenChatOptions.builder().model("gpt-4o").build())));
        assertTrue(name.getMessage().contains("gpt-4o"), name.getMessage());
        IllegalArgumentException temperature = assertThrows(IllegalArgumentException.class,
                () -> m.call(new Prompt("x", MetagenChatOptions.builder().temperature(-1.0).build())));
        assertTrue(temperature.getMessage().contains("temperature"), temperature.getMessage());
        IllegalArgumentException inStream = assertThrows(IllegalArgumentException.class,
                () -> m.stream(new Prompt("x", MetagenChatOptions.builder().topP(0.0).build())).blockLast());
        assertTrue(inStream.getMessage().contains("top-p"), inStream.getMessage());
    }
}
