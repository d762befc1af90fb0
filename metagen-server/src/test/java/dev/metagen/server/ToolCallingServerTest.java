package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.meta.tools.ToolCallFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tools, tool_choice and parallel_tool_calls on /v1/chat/completions over stories260K (plain and Qwen 2.5 templates). */
class ToolCallingServerTest {
    static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":8},"
            + "\"unit\":{\"enum\":[\"celsius\",\"fahrenheit\"]},\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7}},"
            + "\"required\":[\"city\",\"days\"],\"additionalProperties\":false}";
    static final String CALC_SCHEMA = "{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\",\"maxLength\":10}},"
            + "\"required\":[\"expression\"],\"additionalProperties\":false}";
    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\",\"parameters\":"
            + WEATHER_SCHEMA + "}},{\"type\":\"function\",\"function\":{\"name\":\"calculator\",\"parameters\":" + CALC_SCHEMA + "}}]";
    private static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}]";

    private static OpenAiServer server;
    private static OpenAiServer qwen;
    /** stories260K with room for tool definitions in the prompt (its tokens are a few characters each). */
    static dev.metagen.engine.model.TransformerModel model;

    static synchronized dev.metagen.engine.model.TransformerModel model() {
        if (model == null) {
            model = dev.metagen.engine.model.TransformerModel.load(dev.metagen.core.testing.SharedData.stories260k(),
                    new dev.metagen.engine.model.ModelOptions(1, 2048));
        }
        return model;
    }

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(model(), TestServer.config());
        String src = Files.readString(dev.metagen.core.testing.SharedData.datasets().resolve("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
        qwen = OpenAiServer.start(model(), "stories260K", new ChatFormatter(ChatTemplate.of("qwen", src, "", "<|im_end|>"),
                model().tokenizer()), TestServer.config());
    }

    @AfterAll
    static void stop() {
        server.close();
        qwen.close();
    }

    private static TestServer.Response chat(OpenAiServer s, String fields) {
        return TestServer.post(s, "/v1/chat/completions", "{" + MESSAGES + ",\"tools\":" + TOOLS + "," + fields + "}");
    }

    private static JsonSchema validator(String schema) throws Exception {
        return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(TestServer.JSON.readTree(schema));
    }

    @Test
    void requiredCallAlwaysParsesAndValidates() throws Exception {
        Map<String, JsonSchema> schemas = Map.of("get_weather", validator(WEATHER_SCHEMA), "calculator", validator(CALC_SCHEMA));
        for (OpenAiServer s : List.of(server, qwen)) {
            for (int seed = 0; seed < 3; seed++) {
                JsonNode r = chat(s, "\"tool_choice\":\"required\",\"max_tokens\":120,\"temperature\":1.0,\"seed\":" + seed).json();
                JsonNode choice = r.path("choices").get(0);
                assertEquals("tool_calls", choice.path("finish_reason").asText(), r.toString());
                JsonNode msg = choice.path("message");
                assertTrue(msg.path("content").isNull(), r.toString());
                assertEquals(1, msg.path("tool_calls").size());
                JsonNode call = msg.path("tool_calls").get(0);
                assertTrue(call.path("id").asText().matches("call_[A-Za-z0-9]{24}"), call.toString());
                assertEquals("function", call.path("type").asText());
                String name = call.path("function").path("name").asText();
                JsonNode args = TestServer.JSON.readTree(call.path("function").path("arguments").asText());
                assertTrue(schemas.containsKey(name), name);
                assertTrue(schemas.get(name).validate(args).isEmpty(), args + " violates the schema of " + name);
            }
        }
    }

    @Test
    void namedFunctionIsTheOneCalled() throws Exception {
        JsonSchema calc = validator(CALC_SCHEMA);
        for (int seed = 0; seed < 4; seed++) {
            JsonNode r = chat(server, "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"calculator\"}},"
                    + "\"max_tokens\":80,\"seed\":" + seed).json();
            JsonNode call = r.path("choices").get(0).path("message").path("tool_calls").get(0);
            assertEquals("calculator", call.path("function").path("name").asText(), r.toString());
            assertTrue(calc.validate(TestServer.JSON.readTree(call.path("function").path("arguments").asText())).isEmpty());
        }
    }

    @Test
    void streamedCallArrivesAsOpenAiDeltas() throws Exception {
        String fields = "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},\"max_tokens\":120,\"seed\":5";
        JsonNode whole = chat(server, fields).json().path("choices").get(0).path("message").path("tool_calls").get(0);
        TestServer.Response s = chat(server, fields + ",\"stream\":true");
        List<String> events = TestServer.events(s.body());
        assertEquals("[DONE]", events.getLast());
        List<JsonNode> deltas = new ArrayList<>();
        String finish = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode ch = TestServer.JSON.readTree(e).path("choices").get(0);
            if (ch.path("delta").has("tool_calls")) {
                deltas.add(ch.path("delta").path("tool_calls").get(0));
            }
            if (!ch.path("finish_reason").isNull()) {
                finish = ch.path("finish_reason").asText();
            }
        }
        assertEquals("tool_calls", finish);
        JsonNode head = deltas.getFirst();
        assertEquals(0, head.path("index").asInt());
        assertTrue(head.path("id").asText().startsWith("call_"));
        assertEquals("function", head.path("type").asText());
        assertEquals("get_weather", head.path("function").path("name").asText());
        assertEquals("", head.path("function").path("arguments").asText());
        StringBuilder args = new StringBuilder();
        for (JsonNode d : deltas.subList(1, deltas.size())) {
            assertEquals(0, d.path("index").asInt());
            assertFalse(d.has("id"), "only the first delta of a call carries its id");
            assertFalse(d.path("function").has("name"));
            args.append(d.path("function").path("arguments").asText());
        }
        assertTrue(deltas.size() > 2, "arguments come in pieces");
        assertEquals(whole.path("function").path("arguments").asText(), args.toString(), "same seed, same call");
    }

    @Test
    void noneAndAutoAnswerWithContentWhenTheModelWritesNoCall() {
        for (String choice : List.of("none", "auto")) {
            for (OpenAiServer s : List.of(server, qwen)) {
                JsonNode r = chat(s, "\"tool_choice\":\"" + choice + "\",\"max_tokens\":12,\"temperature\":0").json();
                JsonNode c = r.path("choices").get(0);
                assertFalse(c.path("message").path("content").asText().isEmpty(), r.toString());
                assertFalse(c.path("message").has("tool_calls"), r.toString());
                assertEquals("length", c.path("finish_reason").asText());
            }
        }
    }

    @Test
    void toolResultsInTheHistoryReachTheTemplate() {
        String history = "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"days\\\":1}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 degrees\"}]";
        for (OpenAiServer s : List.of(server, qwen)) {
            TestServer.Response r = TestServer.post(s, "/v1/chat/completions", "{" + history + ",\"tools\":" + TOOLS
                    + ",\"max_tokens\":4,\"temperature\":0}");
            assertEquals(200, r.status(), r.body());
            // the prompt holds the call and the result: more prompt tokens than the question alone
            TestServer.Response q = chat(s, "\"max_tokens\":4,\"temperature\":0");
            assertTrue(r.json().path("usage").path("prompt_tokens").asInt() > q.json().path("usage").path("prompt_tokens").asInt());
        }
    }

    @Test
    void autoReadsCallsInTheFamilyFormatAndParallelFalseKeepsOne() throws Exception {
        ToolRequest auto = new ToolRequest(List.of(), ToolRequest.Choice.AUTO, null, true, ToolCallFormat.HERMES, null);
        String out = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 1}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}\n</tool_call>";
        ToolReplies.Answer a = ToolReplies.answer(auto, out);
        assertNull(a.content());
        assertEquals(List.of("get_weather", "calculator"), a.calls().stream().map(c -> c.name()).toList());
        assertEquals("tool_calls", ToolReplies.finish(a, dev.metagen.core.FinishReason.STOP));
        ToolRequest single = new ToolRequest(List.of(), ToolRequest.Choice.AUTO, null, false, ToolCallFormat.HERMES, null);
        assertEquals(1, ToolReplies.answer(single, out).calls().size());
        ToolRequest none = new ToolRequest(List.of(), ToolRequest.Choice.NONE, null, true, ToolCallFormat.HERMES, null);
        assertEquals(out, ToolReplies.answer(none, out).content());
        ObjectNodeCheck.message(a);
    }

    /** The message shape of an answer with calls. */
    private static final class ObjectNodeCheck {
        static void message(ToolReplies.Answer a) throws Exception {
            var msg = TestServer.JSON.createObjectNode();
            ToolReplies.message(msg, a);
            assertTrue(msg.path("content").isNull());
            assertEquals("{\"city\":\"Paris\",\"days\":1}", msg.path("tool_calls").get(0).path("function").path("arguments").asText());
        }
    }

    @Test
    void badToolFieldsAre400sNamingTheField() {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"frobnicate\"}}}]", "tools[0].function.parameters");
        cases.put("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]", "tools[0].function.parameters");
        cases.put("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name\"}}]", "tools[0].function.name");
        cases.put("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools[1].function.name");
        cases.put("\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]", "tools[0].type");
        cases.put("\"tools\":[]", "tools");
        cases.put("\"tools\":" + TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", "tool_choice.function.name");
        cases.put("\"tools\":" + TOOLS + ",\"tool_choice\":\"sometimes\"", "tool_choice");
        cases.put("\"tool_choice\":\"required\"", "tool_choice");
        cases.put("\"parallel_tool_calls\":false", "parallel_tool_calls");
        cases.put("\"tools\":" + TOOLS + ",\"parallel_tool_calls\":\"yes\"", "parallel_tool_calls");
        cases.put("\"tools\":" + TOOLS + ",\"strategy\":{\"type\":\"best_of_n\",\"n\":2,\"inner\":{\"type\":\"sample\"}}", "tools");
        cases.put("\"tools\":" + TOOLS + ",\"response_format\":{\"type\":\"json_object\"}", "response_format");
        cases.put("\"functions\":[{\"name\":\"f\"}]", "functions");
        StringBuilder many = new StringBuilder("[");
        for (int i = 0; i <= ToolRequest.MAX_TOOLS; i++) {
            many.append(i == 0 ? "" : ",").append("{\"type\":\"function\",\"function\":{\"name\":\"f").append(i).append("\"}}");
        }
        cases.put("\"tools\":" + many + "]", "tools");
        for (var e : cases.entrySet()) {
            TestServer.Response r = TestServer.post(server, "/v1/chat/completions", "{" + MESSAGES + "," + e.getKey() + ",\"max_tokens\":4}");
            assertEquals(400, r.status(), e.getKey() + " -> " + r.body());
            assertEquals(e.getValue(), r.json().path("error").path("param").asText(), e.getKey() + " -> " + r.body());
        }
        // too large for the operator's limit
        try (OpenAiServer small = TestServer.start(model(), TestServer.config().withConstraintLimits(200, 1_000_000, 100_000))) {
            TestServer.Response r = TestServer.post(small, "/v1/chat/completions", "{" + MESSAGES + ",\"tools\":" + TOOLS + "}");
            assertEquals(400, r.status());
            assertEquals("tools", r.json().path("error").path("param").asText());
            assertTrue(r.json().path("error").path("message").asText().contains("--max-constraint-bytes"));
        }
        // and the server keeps serving
        assertEquals(200, chat(server, "\"max_tokens\":2").status());
    }

    @Test
    void toolLoopStrategyThroughTheServer() {
        String loop = "\"strategy\":{\"type\":\"tool_loop\",\"max_turns\":2,\"inner\":{\"type\":\"sample\"},\"tools\":[%s]}";
        TestServer.Response ok = TestServer.post(server, "/v1/chat/completions", "{" + MESSAGES + ",\"max_tokens\":6,"
                + loop.formatted("{\"type\":\"calculator\"}") + "}");
        assertEquals(200, ok.status(), ok.body());
        assertTrue(ok.json().path("usage").path("completion_tokens").asInt() <= 12);
        TestServer.Response python = TestServer.post(server, "/v1/chat/completions", "{" + MESSAGES + ","
                + loop.formatted("{\"type\":\"python\"}") + "}");
        assertEquals(403, python.status(), python.body());
        String http = loop.formatted("{\"type\":\"http\",\"name\":\"search\",\"url\":\"http://127.0.0.1:9/search\"}");
        TestServer.Response refused = TestServer.post(server, "/v1/chat/completions", "{" + MESSAGES + "," + http + "}");
        assertEquals(400, refused.status());
        assertEquals("strategy", refused.json().path("error").path("param").asText());
        assertTrue(refused.json().path("error").path("message").asText().contains("$.tools[0].url"), refused.body());
        try (OpenAiServer allowed = TestServer.start(model(), TestServer.config().withHttpTools(
                dev.metagen.meta.tools.HttpTool.Policy.NONE.withAllowed(List.of("http://127.0.0.1:9/"))))) {
            TestServer.Response r = TestServer.post(allowed, "/v1/chat/completions", "{" + MESSAGES + ",\"max_tokens\":4," + http + "}");
            assertEquals(200, r.status(), r.body());
        }
    }
}
