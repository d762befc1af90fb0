package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.metagen.meta.tools.Calculator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official OpenAI Java SDK's tool-calling flow, unchanged, against our server over stories260K: declare a tool,
 * force a call (required, then named), parse its arguments, run the tool, send the result back and get an answer;
 * and the same call streamed, reassembled from the SDK's tool-call deltas.
 */
class OpenAiSdkToolsTest {
    private static OpenAiServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.start(ToolCallingServerTest.model(), TestServer.config());
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    private static ChatCompletionFunctionTool calculator() {
        return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("calculator")
                .description("Evaluates arithmetic").parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("expression",
                                Map.of("type", "string", "pattern", "^[1-9][0-9]?[+*][1-9][0-9]?$"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("expression")))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false)).build()).build()).build();
    }

    private static ChatCompletionCreateParams.Builder question() {
        return ChatCompletionCreateParams.builder().model("stories260K").addUserMessage("What is 12 times 7?")
                .addTool(calculator()).maxCompletionTokens(60).temperature(0.7).seed(11);
    }

    @Test
    void callRunToolAnswer() throws Exception {
        for (ChatCompletionToolChoiceOption choice : List.of(
                ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.REQUIRED),
                ChatCompletionToolChoiceOption.ofNamedToolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("calculator").build()).build()))) {
            ChatCompletion first = client.chat().completions().create(question().toolChoice(choice).build());
            ChatCompletion.Choice c = first.choices().getFirst();
            assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, c.finishReason());
            ChatCompletionMessage msg = c.message();
            ChatCompletionMessageFunctionToolCall call = msg.toolCalls().orElseThrow().getFirst().asFunction();
            assertEquals("calculator", call.function().name());
            JsonNode args = TestServer.JSON.readTree(call.function().arguments());
            String expression = args.get("expression").asText();
            assertTrue(expression.matches("[1-9][0-9]?[+*][1-9][0-9]?"), expression);
            String result = new Calculator().run(expression).output();

            ChatCompletion answer = client.chat().completions().create(question().addMessage(msg)
                    .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content(result).build())
                    .maxCompletionTokens(12).build());
            ChatCompletion.Choice a = answer.choices().getFirst();
            assertFalse(a.message().content().orElse("").isEmpty(), "an answer after the tool result");
            assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, a.finishReason());
            // the tool result was in the prompt: it is longer than the question and the call alone
            assertTrue(answer.usage().orElseThrow().promptTokens() > first.usage().orElseThrow().promptTokens());
        }
    }

    @Test
    void streamedCallReassembles() throws Exception {
        ChatCompletionCreateParams p = question().toolChoice(ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.REQUIRED)).build();
        ChatCompletionMessageFunctionToolCall whole = client.chat().completions().create(p).choices().getFirst()
                .message().toolCalls().orElseThrow().getFirst().asFunction();
        Map<Long, StringBuilder> args = new TreeMap<>();
        Map<Long, String> names = new TreeMap<>();
        Map<Long, String> ids = new TreeMap<>();
        ChatCompletionChunk.Choice.FinishReason[] finish = new ChatCompletionChunk.Choice.FinishReason[1];
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.finishReason().ifPresent(f -> finish[0] = f);
                ch.delta().toolCalls().ifPresent(calls -> calls.forEach(tc -> {
                    tc.id().ifPresent(id -> ids.put(tc.index(), id));
                    tc.function().ifPresent(fn -> {
                        fn.name().ifPresent(n -> names.put(tc.index(), n));
                        fn.arguments().ifPresent(a -> args.computeIfAbsent(tc.index(), k -> new StringBuilder()).append(a));
                    });
                }));
            }));
        }
        assertEquals(ChatCompletionChunk.Choice.FinishReason.TOOL_CALLS, finish[0]);
        assertEquals(Map.of(0L, "calculator"), names);
        assertTrue(ids.get(0L).startsWith("call_"));
        assertEquals(whole.function().arguments(), args.get(0L).toString(), "same seed, same arguments");
        TestServer.JSON.readTree(args.get(0L).toString());
    }
}
