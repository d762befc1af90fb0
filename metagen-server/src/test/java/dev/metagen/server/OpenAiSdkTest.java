package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java SDK, unchanged, against our server over stories260K (with an API key). */
class OpenAiSdkTest {
    private static OpenAiServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.start(TestServer.stories(), TestServer.config().withApiKey("test-key"));
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("test-key")
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    private static ChatCompletionCreateParams.Builder params() {
        return ChatCompletionCreateParams.builder().model("stories260K").addSystemMessage("You tell stories.")
                .addUserMessage("Tell me about a cat.").maxCompletionTokens(20).temperature(0.0);
    }

    @Test
    void chatCompletionAndTheSameStreamed() {
        ChatCompletion c = client.chat().completions().create(params().build());
        String text = c.choices().getFirst().message().content().orElse("");
        assertFalse(text.isEmpty());
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().getFirst().finishReason());
        assertEquals(20, c.usage().orElseThrow().completionTokens());
        assertEquals("stories260K", c.model());

        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params().build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        assertEquals(text, streamed.toString());
    }

    @Test
    void jsonSchemaResponseConforms() throws Exception {
        Map<String, Object> schema = Map.of("type", "object",
                "properties", Map.of("name", Map.of("type", "string", "maxLength", 10),
                        "friends", Map.of("type", "array", "items", Map.of("type", "string", "maxLength", 6), "maxItems", 2)),
                "required", List.of("name", "friends"), "additionalProperties", false);
        ResponseFormatJsonSchema.JsonSchema.Schema.Builder sb = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
        schema.forEach((k, v) -> sb.putAdditionalProperty(k, JsonValue.from(v)));
        ChatCompletionCreateParams p = params().maxCompletionTokens(80).temperature(0.8).seed(7)
                .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                        .name("character").schema(sb.build()).strict(true).build()).build())
                .build();
        ChatCompletion c = client.chat().completions().create(p);
        String content = c.choices().getFirst().message().content().orElseThrow();
        JsonNode out = TestServer.JSON.readTree(content);
        JsonSchema validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(TestServer.JSON.valueToTree(schema));
        assertTrue(validator.validate(out).isEmpty(), content + " violates " + validator.validate(out));
    }
}
