package dev.metagen.spring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.client.ChatClientRequest;
import org.springframework.ai.chat.client.ChatClientResponse;
import org.springframework.ai.chat.client.advisor.api.CallAdvisor;
import org.springframework.ai.chat.client.advisor.api.CallAdvisorChain;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.function.FunctionToolCallback;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tools through the Spring AI chat model on stories260K: a required call is decoded under the tool's JSON Schema, so
 * the ChatClient runs the tool callback with valid arguments and calls back for the answer; tool calls and responses
 * in the history reach the template.
 */
class ToolsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    enum City { PARIS, ROME, OSLO }

    record Where(City city) {
    }

    static FunctionToolCallback<Where, String> weather(List<City> asked) {
        return FunctionToolCallback.builder("weather", (Where w) -> {
            asked.add(w.city());
            return "sunny in " + w.city();
        }).description("the weather in a city").inputType(Where.class).build();
    }

    /** Asks for a tool call while the last message is the user's; after the tool's response the model answers freely. */
    static final class FirstTurnCallsATool implements CallAdvisor {
        final List<Prompt> prompts = new CopyOnWriteArrayList<>();

        @Override
        public ChatClientResponse adviseCall(ChatClientRequest request, CallAdvisorChain chain) {
            Prompt p = request.prompt();
            if (p.getInstructions().getLast() instanceof UserMessage) {
                MetagenChatOptions.Builder b = MetagenChatOptions.builder();
                if (p.getOptions() != null) {
                    b.combineWith(p.getOptions().mutate());
                }
                p = new Prompt(p.getInstructions(), b.toolChoice("required").build());
            }
            prompts.add(p);
            return chain.nextCall(request.mutate().prompt(p).build());
        }

        @Override
        public String getName() {
            return "first-turn-calls-a-tool";
        }

        @Override
        public int getOrder() {
            return LOWEST_PRECEDENCE - 1; // inside the tool-calling loop, so it sees every call to the model
        }
    }

    @Test
    void chatClientRunsTheToolWithSchemaValidArgumentsAndTheAnswerComesBack() {
        List<City> asked = new CopyOnWriteArrayList<>();
        FirstTurnCallsATool advisor = new FirstTurnCallsATool();
        MetagenChatModel model = new MetagenChatModel(Stories.engine(), MetagenChatOptions.builder().seed(3L).maxTokens(160).build());
        String answer = ChatClient.create(model).prompt().user("What is the weather in Paris?").tools(weather(asked))
                .advisors(advisor).call().content();
        assertEquals(1, asked.size(), "the tool ran once: " + asked);
        assertNotNull(answer);
        assertEquals(2, advisor.prompts.size());
        // the second call carries the call and the tool's response
        List<Message> second = advisor.prompts.get(1).getInstructions();
        assertTrue(second.stream().anyMatch(m -> m instanceof AssistantMessage a && a.hasToolCalls()), second.toString());
        assertTrue(second.stream().anyMatch(m -> m instanceof ToolResponseMessage t
                && t.getResponses().getFirst().responseData().contains("sunny in " + asked.getFirst())), second.toString());
    }

    @Test
    void aNamedToolIsTheOneCalledAndItsArgumentsParse() throws Exception {
        List<City> asked = new CopyOnWriteArrayList<>();
        ToolCallback other = FunctionToolCallback.builder("nothing", (Where w) -> "x").inputType(Where.class)
                .inputSchema("{\"type\": \"object\"}").build();
        // short schemas: both tools must fit stories260K's 512-token context with the answer
        ToolCallback shortWeather = FunctionToolCallback.builder("weather", (Where w) -> {
            asked.add(w.city());
            return "sunny";
        }).inputType(Where.class).inputSchema("{\"type\": \"object\", \"properties\": {\"city\": {\"enum\": [\"PARIS\", \"ROME\", \"OSLO\"]}},"
                + " \"required\": [\"city\"]}").build();
        MetagenChatModel model = new MetagenChatModel(Stories.engine());
        for (double temperature : new double[] {0.0, 0.5}) {
            ChatResponse r = model.call(new Prompt("Weather?", MetagenChatOptions.builder().temperature(temperature).seed(1L).maxTokens(160)
                    .toolCallbacks(List.of(other, shortWeather)).toolChoice("weather").build()));
            AssistantMessage out = r.getResult().getOutput();
            assertEquals("TOOL_CALLS", r.getResult().getMetadata().getFinishReason());
            assertEquals(1, out.getToolCalls().size());
            AssistantMessage.ToolCall c = out.getToolCalls().getFirst();
            assertEquals("weather", c.name());
            assertFalse(c.id().isEmpty());
            JsonNode args = JSON.readTree(c.arguments());
            City.valueOf(args.path("city").asText()); // one of the enum's values
        }
        assertTrue(asked.isEmpty(), "the model only asks; the caller runs tools");
    }

    @Test
    void streamEndsWithTheCall() throws Exception {
        List<City> asked = new CopyOnWriteArrayList<>();
        MetagenChatModel model = new MetagenChatModel(Stories.engine());
        List<ChatResponse> responses = model.stream(new Prompt("Weather?", MetagenChatOptions.builder().seed(2L).maxTokens(160)
                .toolCallbacks(List.of(weather(asked))).toolChoice("required").build())).collectList().block();
        assertNotNull(responses);
        AssistantMessage last = responses.getLast().getResult().getOutput();
        assertEquals(1, last.getToolCalls().size());
        City.valueOf(JSON.readTree(last.getToolCalls().getFirst().arguments()).path("city").asText());
        // no piece of the call's JSON arrives as text
        assertTrue(responses.stream().allMatch(r -> r.getResult().getOutput().getText() == null
                || r.getResult().getOutput().getText().isEmpty()), responses.toString());
    }
}
