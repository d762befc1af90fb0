package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.LanguageModel;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.runtime.ModelRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server's request fields are a front end of the one parameter model: every sampler-chain field acts (the same
 * names as in specs), a strategy's leaves inherit the request's fields, and named models reach strategy leaves.
 */
class OneSpineServerTest {
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        LanguageModel m = TestServer.stories();
        // "other" is the same file under another name: its leaves must give what the default gives
        ModelRegistry models = ModelRegistry.of(m, Map.of("other", "other"), ref -> m);
        server = OpenAiServer.start(m, "stories260K", new ChatFormatter(ChatTemplate.fallback(), m.tokenizer()),
                TestServer.config(), models);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static JsonNode complete(String fields) {
        String limit = fields.contains("\"max_tokens\"") ? "" : "\"max_tokens\":12,";
        var r = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\"," + limit + "\"seed\":3," + fields + "}");
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    /** The model's own first greedy token after the prompt. */
    static int firstGreedyToken() {
        return new dev.metagen.decoding.SamplingGenerator(TestServer.stories())
                .generate(dev.metagen.core.Prompt.of("Once upon a time"), dev.metagen.core.GenerationParams.greedy(1)).tokens()[0];
    }

    static String text(JsonNode o) {
        return o.path("choices").path(0).path("text").asText();
    }

    @Test
    void everySamplerFieldOfTheParameterModelIsAcceptedAndActs() {
        String base = "\"temperature\":1.2,\"top_k\":0,\"top_p\":1";
        String plain = text(complete(base));
        // each of these changes the distribution so much that 12 seeded tokens differ from the plain run
        for (String extra : List.of("\"mirostat\":2,\"mirostat_tau\":1.0", "\"top_n_sigma\":0.5", "\"xtc_probability\":1.0,\"xtc_threshold\":0.01",
                "\"no_repeat_ngram\":1", "\"dynatemp_range\":1.1", "\"eta\":0.2", "\"epsilon\":0.2")) {
            String changed = text(complete(base + "," + extra));
            assertNotEquals(plain, changed, extra + " changed nothing");
        }
        // the penalty window: the whole text by default (OpenAI's semantics), none at all with repeat_last_n 0
        assertNotEquals(plain, text(complete(base + ",\"repeat_penalty\":5")));
        assertEquals(plain, text(complete(base + ",\"repeat_penalty\":5,\"repeat_last_n\":0")));
        // DRY acts on repeats: greedy decoding repeats itself within 60 tokens, and DRY breaks that
        String greedy = "\"temperature\":0,\"max_tokens\":60";
        assertNotEquals(text(complete(greedy)), text(complete(greedy + ",\"dry_multiplier\":5,\"dry_allowed_length\":1")));
        assertNotEquals(text(complete(greedy)), text(complete(greedy + ",\"stop_tokens\":[" + firstGreedyToken() + "]")));
        // the server reads these through GenerationFields, whose own test shows every one of them changes the
        // parameters; a field added to the model shows up here and wants a case above
        assertEquals(new java.util.TreeSet<>(List.of("dry_allowed_length", "dry_base", "dry_multiplier", "dry_penalty_last_n",
                "dry_sequence_breakers", "dynatemp_exponent", "dynatemp_range", "epsilon", "eta", "mirostat", "mirostat_eta",
                "mirostat_tau", "no_repeat_ngram", "repeat_last_n", "stop_tokens", "top_n_sigma", "xtc_probability",
                "xtc_threshold")), new java.util.TreeSet<>(RequestParser.SAMPLING_EXTRAS));
    }

    @Test
    void aBadSamplerFieldIsA400NamingIt() {
        var r = post(server, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"dry_base\":0.5,\"dry_multiplier\":1}");
        assertEquals(400, r.status(), r.body());
        assertTrue(r.json().path("error").path("message").asText().contains("dry base"), r.body());
        var t = post(server, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"stop_tokens\":\"five\"}");
        assertEquals(400, t.status(), t.body());
        assertEquals("stop_tokens", t.json().path("error").path("param").asText(), t.body());
    }

    @Test
    void aStrategysLeavesInheritTheRequestsFields() {
        JsonNode plain = complete("\"temperature\":0");
        String first = text(plain);
        int banned = firstGreedyToken();
        JsonNode viaStrategy = complete("\"temperature\":0,\"logit_bias\":{\"" + banned + "\":-100},"
                + "\"strategy\":{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"greedy\"}}");
        var trace = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"seed\":3,"
                + "\"temperature\":0,\"logit_bias\":{\"" + banned + "\":-100},\"strategy\":{\"type\":\"greedy\"}}");
        assertEquals(200, trace.status(), trace.body());
        assertNotEquals(first, text(viaStrategy), "the request's logit_bias reaches the strategy's leaves");
        assertEquals(text(trace.json()), text(complete("\"temperature\":0,\"logit_bias\":{\"" + banned + "\":-100}")),
                "a greedy strategy leaf samples as the plain request with the same fields");
        JsonNode sameAsPlain = complete("\"temperature\":0,\"strategy\":{\"type\":\"greedy\"}");
        assertEquals(first, text(sameAsPlain));
    }

    @Test
    void logprobsOfAStrategyAreTheChosenCandidates() {
        JsonNode plain = complete("\"temperature\":0,\"logprobs\":2");
        JsonNode viaStrategy = complete("\"temperature\":0,\"logprobs\":2,\"strategy\":{\"type\":\"best_of_n\",\"n\":2,"
                + "\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"greedy\"}}");
        JsonNode a = plain.path("choices").path(0).path("logprobs");
        JsonNode b = viaStrategy.path("choices").path(0).path("logprobs");
        assertEquals(12, a.path("tokens").size());
        assertEquals(a.path("tokens"), b.path("tokens"));
        assertEquals(a.path("top_logprobs"), b.path("top_logprobs"));
        assertEquals(2, b.path("top_logprobs").path(0).size());
    }

    @Test
    void namedModelsReachStrategyLeaves() {
        String plain = text(complete("\"temperature\":0"));
        JsonNode other = complete("\"temperature\":0,\"strategy\":{\"type\":\"greedy\",\"model\":\"other\"}");
        assertEquals(plain, text(other));
        var unknown = post(server, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"strategy\":{\"type\":\"greedy\",\"model\":\"judge\"}}");
        assertEquals(400, unknown.status(), unknown.body());
        assertTrue(unknown.json().path("error").path("message").asText().contains("unknown model 'judge'"), unknown.body());
        assertEquals(0, server.serverErrors());
    }
}
