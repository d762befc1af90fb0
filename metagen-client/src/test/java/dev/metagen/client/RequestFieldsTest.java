package dev.metagen.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.client.StubServer.Reply;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Guidance;
import dev.metagen.core.MetagenException;
import dev.metagen.core.OutputConstraint;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import static dev.metagen.client.StubServer.fixture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every parameter of a call reaches the request under its API name, or is refused naming it before anything is sent. */
class RequestFieldsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final GenerationParams BASE = new GenerationParams(16, 0.7, 0, 1.0, 5, true, List.of());

    private static JsonNode sent(GenerationParams params) throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion.json")));
             RemoteGenerator g = RemoteGenerator.builder().endpoint(stub.url()).maxRetries(0).build()) {
            g.generate(Prompt.of("x"), params);
            return JSON.readTree(stub.requests.peek());
        }
    }

    @Test
    void everySamplingSettingTravelsUnderItsApiName() throws Exception {
        SamplingConfig s = BASE.sampling().topK(7).topP(0.8).minP(0.3).typicalP(0.9).penalties(1.2, 0.4, -0.5, -1)
                .logitBias(Map.of(13, Float.NEGATIVE_INFINITY, 42, 2.5f)).minTokens(3)
                .samplers(List.of("min_p", "temperature"));
        JsonNode o = sent(new GenerationParams(16, 99, true, List.of("\n", "END"), s, 3, OutputConstraint.regex("[a-z]+"), Guidance.NONE));
        assertEquals(16, o.path("max_tokens").asInt());
        assertEquals(0.7, o.path("temperature").asDouble(), 1e-12);
        assertEquals(7, o.path("top_k").asInt());
        assertEquals(0.8, o.path("top_p").asDouble(), 1e-12);
        assertEquals(0.3, o.path("min_p").asDouble(), 1e-12);
        assertEquals(0.9, o.path("typical_p").asDouble(), 1e-12);
        assertEquals(1.2, o.path("repetition_penalty").asDouble(), 1e-12);
        assertEquals(0.4, o.path("frequency_penalty").asDouble(), 1e-12);
        assertEquals(-0.5, o.path("presence_penalty").asDouble(), 1e-12);
        assertEquals(-100.0, o.path("logit_bias").path("13").asDouble(), "-inf is the API's ban, -100");
        assertEquals(2.5, o.path("logit_bias").path("42").asDouble(), 1e-6);
        assertEquals(3, o.path("min_tokens").asInt());
        assertEquals("[\"min_p\",\"temperature\"]", o.path("samplers").toString());
        assertEquals(99, o.path("seed").asLong());
        assertEquals("[\"\\n\",\"END\"]", o.path("stop").toString());
        assertEquals(3, o.path("logprobs").asInt(), "top alternatives per token");
        assertEquals("[a-z]+", o.path("regex").asText());
    }

    @Test
    void neutralSettingsAreNotSentSoAPlainRequestSuitsAnyServer() throws Exception {
        JsonNode o = sent(BASE);
        Set<String> fields = new java.util.TreeSet<>();
        o.fieldNames().forEachRemaining(fields::add);
        assertEquals(Set.of("max_tokens", "prompt", "seed", "temperature"), fields);
    }

    @Test
    void constraintsTravelAsTheFieldsOurServerReads() throws Exception {
        assertEquals("root ::= \"a\"", sent(BASE.withConstraint(OutputConstraint.grammar("root ::= \"a\""))).path("grammar").asText());
        assertEquals("json_object", sent(BASE.withConstraint(OutputConstraint.jsonObject())).path("response_format").path("type").asText());
        JsonNode rf = sent(BASE.withConstraint(OutputConstraint.jsonSchema("{\"type\":\"integer\"}", false))).path("response_format");
        assertEquals("json_schema", rf.path("type").asText());
        assertEquals("integer", rf.path("json_schema").path("schema").path("type").asText(), rf.toString());
    }

    @Test
    void aSettingNoRequestFieldCarriesIsRefusedByNameAndNothingIsSent() throws Exception {
        Map<String, UnaryOperator<GenerationParams>> refused = new java.util.LinkedHashMap<>();
        refused.put("mirostat", p -> p.withSampling(p.sampling().mirostat(2, 5, 0.1)));
        refused.put("xtc_probability", p -> p.withSampling(p.sampling().xtc(0.5, 0.1)));
        refused.put("dry_multiplier", p -> p.withSampling(p.sampling().dry(0.8, 1.75, 2, -1)));
        refused.put("epsilon", p -> p.withSampling(p.sampling().epsilon(0.01)));
        refused.put("eta", p -> p.withSampling(p.sampling().eta(0.01)));
        refused.put("top_n_sigma", p -> p.withSampling(p.sampling().topNSigma(1.0)));
        refused.put("dynatemp_range", p -> p.withSampling(p.sampling().dynatemp(0.5, 1.0)));
        refused.put("no_repeat_ngram", p -> p.withSampling(p.sampling().noRepeatNgram(3)));
        refused.put("stop_tokens", p -> p.withSampling(p.sampling().stopTokens(Set.of(13))));
        refused.put("repeat_last_n", p -> p.withSampling(p.sampling().penalties(1.1, 0, 0, 64)));
        refused.put("logit_bias", p -> p.withSampling(p.sampling().logitBias(Map.of(5, -250f))));
        refused.put("cfg_scale", p -> p.withGuidance(Guidance.NONE.withCfg(1.5, "")));
        refused.put("amateur", p -> p.withGuidance(Guidance.NONE.withAmateur("small", 0.1)));
        refused.put("experts", p -> p.withGuidance(Guidance.NONE.withExperts(List.of("e"), List.of())));
        refused.put("choice", p -> p.withConstraint(OutputConstraint.choice(List.of("yes", "no"))));
        refused.put("contains", p -> p.withConstraint(OutputConstraint.contains(List.of("dog"))));
        refused.put("best_effort", p -> p.withConstraint(OutputConstraint.jsonSchema("{}", true)));
        refused.put("add_special", p -> p.withAddSpecial(false));
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion.json")));
             RemoteGenerator g = RemoteGenerator.builder().endpoint(stub.url()).maxRetries(0).build()) {
            for (var e : refused.entrySet()) {
                GenerationParams p = e.getValue().apply(BASE);
                MetagenException x = assertThrows(MetagenException.class, () -> g.generate(Prompt.of("x"), p), e.getKey());
                assertTrue(x.getMessage().contains(e.getKey()), x.getMessage());
                // a budget's reservation asks the same question before the call
                assertThrows(MetagenException.class, () -> g.maxModelCalls(Prompt.of("x"), p), e.getKey());
            }
            assertTrue(stub.requests.isEmpty(), "nothing was sent");
            assertEquals(1, g.maxModelCalls(Prompt.of("x"), BASE), "one request per call");
        }
    }

    @Test
    void penaltiesOffByTheirWindowAreNotSent() throws Exception {
        JsonNode o = sent(BASE.withSampling(BASE.sampling().penalties(1.3, 0.5, 0.5, 0)));
        assertFalse(o.has("repetition_penalty") || o.has("frequency_penalty") || o.has("presence_penalty"), o.toString());
    }

    @Test
    void topAlternativesAreReadIntoTheTrace() throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion-logprobs.json")));
             RemoteGenerator g = RemoteGenerator.builder().endpoint(stub.url()).build()) {
            Generation out = g.generate(Prompt.of("x"), BASE.withLogprobs(2));
            assertEquals(List.of(List.of(Map.of("text", " 42", "logprob", -0.0312))), out.trace().get("top_logprobs"));
            assertEquals(-0.0312, out.logprobs()[0], 1e-12);
        }
    }

    @Test
    void aNamedModelReferenceMayCarryTheServedModelName() throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion.json")))) {
            try (RemoteGenerator g = RemoteGenerator.forReference(stub.url() + "/v1#Qwen/Qwen2.5-7B-Instruct")) {
                g.generate(Prompt.of("x"), BASE);
            }
            JsonNode o = JSON.readTree(stub.requests.peek());
            assertEquals("Qwen/Qwen2.5-7B-Instruct", o.path("model").asText());
            assertEquals(1, o.path("logprobs").asInt(), "the chosen tokens' logprobs, as a local leaf reports them");
            assertEquals("/v1/completions", stub.paths.peek());
        }
        MetagenException e = assertThrows(MetagenException.class, () -> RemoteGenerator.forReference("http://127.0.0.1:1/v1?key=x"));
        assertTrue(e.getMessage().contains("query"), e.getMessage());
    }
}
