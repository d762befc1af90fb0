package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.GenerationParams;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Thousands of seeded malformed requests (broken JSON, wrong types, out-of-range and huge values, unknown fields,
 * invalid UTF-8, deep nesting, oversized bodies, wrong methods): never a 5xx, every refusal an error object, and
 * afterwards a normal request still gets the right answer.
 */
class ServerFuzzTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final List<String> FIELDS = List.of("prompt", "messages", "max_tokens", "max_completion_tokens", "temperature",
            "top_p", "n", "stream", "stream_options", "stop", "seed", "logprobs", "top_logprobs", "logit_bias", "presence_penalty",
            "frequency_penalty", "response_format", "top_k", "min_p", "typical_p", "repetition_penalty", "min_tokens",
            "ignore_eos", "samplers", "grammar", "regex", "json_schema", "strategy", "echo", "best_of", "suffix", "bogus");

    @Test
    void thousandsOfBadRequestsNeverHurtTheServer() throws Exception {
        int count = Integer.getInteger("metagen.fuzz.requests", 3000);
        Random rnd = new Random(20261127L);
        ServerConfig c = new ServerConfig("127.0.0.1", 0, null, 4, 16, 4096, 8, 2, 20_000, false);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Map<Integer, Integer> statuses = new TreeMap<>();
        try (OpenAiServer s = TestServer.start(TestServer.stories(), c)) {
            for (int i = 0; i < count; i++) {
                boolean chat = rnd.nextBoolean();
                String path = rnd.nextInt(50) == 0 ? "/v1/" + (char) ('a' + rnd.nextInt(26)) : chat ? "/v1/chat/completions" : "/v1/completions";
                byte[] body = body(rnd, chat);
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path));
                if (rnd.nextInt(40) == 0) {
                    b.method(rnd.nextBoolean() ? "PUT" : "DELETE", HttpRequest.BodyPublishers.ofByteArray(body));
                } else {
                    b.POST(HttpRequest.BodyPublishers.ofByteArray(body));
                }
                b.header("Content-Type", rnd.nextInt(30) == 0 ? "text/plain" : "application/json");
                HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                statuses.merge(r.statusCode(), 1, Integer::sum);
                assertTrue(r.statusCode() < 500, "request " + i + " got " + r.statusCode() + ": " + r.body() + "\nsent: "
                        + new String(body, StandardCharsets.UTF_8));
                if (r.statusCode() >= 400) {
                    JsonNode err = TestServer.JSON.readTree(r.body()).path("error");
                    assertFalse(err.path("message").asText().isEmpty(), r.body());
                    assertTrue(err.has("type") && err.has("param") && err.has("code"), r.body());
                }
            }
            assertEquals(0, s.serverErrors());
            System.out.println("fuzz: " + count + " requests, statuses " + statuses);
            assertTrue(statuses.getOrDefault(400, 0) > count / 3, "most requests are refused: " + statuses);
            assertTrue(statuses.getOrDefault(200, 0) > 0, "some mutated requests are still valid: " + statuses);
            // still healthy: a normal request gives exactly the direct greedy result
            var r = TestServer.post(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}");
            assertEquals(200, r.status());
            var m = TestServer.stories();
            String expected = new SamplingGenerator(m)
                    .generate(m.tokenizer().encode("Once upon a time", true, false), (GenerationParams.greedy(8)).withSampling(SamplingConfig.greedy()), t -> {}).text();
            assertEquals(expected, r.json().path("choices").path(0).path("text").asText());
        }
    }

    private static byte[] body(Random rnd, boolean chat) {
        ObjectNode o = F.objectNode();
        if (chat) {
            ArrayNode msgs = o.putArray("messages");
            msgs.addObject().put("role", "user").put("content", "Tell a story");
        } else {
            o.put("prompt", "Once upon a time");
        }
        o.put("max_tokens", 4);
        int mutations = 1 + rnd.nextInt(3);
        for (int k = 0; k < mutations; k++) {
            o.set(FIELDS.get(rnd.nextInt(FIELDS.size())), value(rnd, 0));
        }
        byte[] b = o.toString().getBytes(StandardCharsets.UTF_8);
        switch (rnd.nextInt(12)) {
            case 0 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length)); // truncated JSON
            case 1 -> b[rnd.nextInt(b.length)] = (byte) (0x80 + rnd.nextInt(0x80)); // invalid UTF-8 byte
            case 2 -> b = ("[".repeat(200 + rnd.nextInt(2000))).getBytes(StandardCharsets.US_ASCII); // deep nesting
            case 3 -> b = new byte[4097 + rnd.nextInt(10000)]; // over the body limit
            case 4 -> b = ("{\"prompt\":\"" + "story ".repeat(700) + "\"}").getBytes(StandardCharsets.US_ASCII); // over the context
            default -> { }
        }
        return b;
    }

    private static JsonNode value(Random rnd, int depth) {
        return switch (rnd.nextInt(depth > 2 ? 9 : 12)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(rnd.nextBoolean());
            case 2 -> F.numberNode(rnd.nextInt(11) - 5);
            case 3 -> F.numberNode(rnd.nextLong());
            case 4 -> F.numberNode(rnd.nextDouble() * 4 - 2);
            case 5 -> F.numberNode(new java.math.BigInteger(200, rnd));
            case 6 -> F.textNode(List.of("", "x", "json_object", "top_k;temperature", "root ::= \"a\"", "[a-z]+", "(", "text",
                    "{\"type\":\"best_of_n\"}", "\uD83D\uDE00", "-inf").get(rnd.nextInt(11)));
            case 7 -> F.numberNode(rnd.nextBoolean() ? Double.MAX_VALUE : -0.0);
            case 8 -> F.textNode("z".repeat(rnd.nextInt(3000)));
            case 9 -> {
                ArrayNode a = F.arrayNode();
                int n = rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    a.add(value(rnd, depth + 1));
                }
                yield a;
            }
            default -> {
                ObjectNode obj = F.objectNode();
                int n = rnd.nextInt(3);
                for (int i = 0; i < n; i++) {
                    obj.set(List.of("type", "json_schema", "schema", "include_usage", "role", "content", "0", "inner", "n").get(rnd.nextInt(9)),
                            value(rnd, depth + 1));
                }
                yield obj;
            }
        };
    }
}
