package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.LanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Walks every request field the parser accepts ({@link RequestParser}'s known-field sets) through a table that
 * classifies each one: a generation parameter (it changes a seeded completion of stories260K, and a strategy's leaf
 * inherits it: {@code "strategy": {"type": "sample"}} gives the plain request's text), a parameter a strategy cannot
 * take (a 400 naming the field beside {@code strategy}), or something else (the prompt, streaming, ignored OpenAI
 * fields ...). A field added to the parser without a row here fails the walk.
 */
class RequestFieldWalkerTest {
    static final String SAMPLE = "{\"type\":\"sample\"}";
    static final String GREEDY = "{\"type\":\"greedy\"}";
    static final String ECHOES = "Once upon a time, there was a little girl named Lily. She loved to play. Once upon a time";

    private static OpenAiServer server;
    static JsonNode baseline;
    static JsonNode greedyBaseline;

    /**
     * A generation parameter: {@code context} fields (also in the request it is compared with) and {@code variant}
     * fields, computed from the baseline completion; {@code chat}: sent to the chat endpoint; {@code greedy}: also
     * checked through a greedy leaf against a plain {@code temperature 0} request.
     */
    record Parameter(Function<JsonNode, String> context, Function<JsonNode, String> variant, boolean chat, boolean greedy) {
    }

    static Parameter changes(String variant) {
        return new Parameter(b -> "", b -> variant, false, false);
    }

    static Parameter changesGreedyToo(String variant) {
        return new Parameter(b -> "", b -> variant, false, true);
    }

    static Parameter with(String context, String variant) {
        return new Parameter(b -> context, b -> variant, false, false);
    }

    static final Map<String, Parameter> PARAMETERS = new LinkedHashMap<>();
    /** Refused beside a strategy with a 400 naming the field (put it in the strategy's leaf); the value acts alone. */
    static final Map<String, String> NOT_WITH_STRATEGY = new LinkedHashMap<>();
    /** Fields whose output a strategy reports for its chosen candidate, as a plain request does. */
    static final Map<String, String> LOGPROBS = new LinkedHashMap<>();
    static final Map<String, String> OTHERS = new LinkedHashMap<>();

    static {
        PARAMETERS.put("max_tokens", changesGreedyToo("\"max_tokens\":5"));
        PARAMETERS.put("max_completion_tokens", new Parameter(b -> "", b -> "\"max_completion_tokens\":5", true, true));
        PARAMETERS.put("seed", changes("\"seed\":4"));
        PARAMETERS.put("stop", new Parameter(b -> "", b -> "\"stop\":[\"" + thirdWord(b) + "\"]", false, true));
        PARAMETERS.put("temperature", changes("\"temperature\":0.4"));
        PARAMETERS.put("top_k", changes("\"top_k\":2"));
        PARAMETERS.put("top_p", changes("\"top_p\":0.3"));
        PARAMETERS.put("min_p", changes("\"min_p\":0.3"));
        PARAMETERS.put("typical_p", changes("\"typical_p\":0.2"));
        PARAMETERS.put("epsilon", changes("\"epsilon\":0.2"));
        PARAMETERS.put("eta", changes("\"eta\":0.2"));
        PARAMETERS.put("top_n_sigma", changes("\"top_n_sigma\":0.5"));
        PARAMETERS.put("dynatemp_range", changes("\"dynatemp_range\":1.1"));
        PARAMETERS.put("dynatemp_exponent", with("\"dynatemp_range\":1.1", "\"dynatemp_exponent\":0.1"));
        PARAMETERS.put("mirostat", changes("\"mirostat\":2,\"mirostat_tau\":1"));
        PARAMETERS.put("mirostat_tau", with("\"mirostat\":2", "\"mirostat_tau\":1"));
        PARAMETERS.put("mirostat_eta", with("\"mirostat\":2,\"mirostat_tau\":1", "\"mirostat_eta\":1"));
        PARAMETERS.put("xtc_probability", changes("\"xtc_probability\":1,\"xtc_threshold\":0.01"));
        PARAMETERS.put("xtc_threshold", with("\"xtc_probability\":1", "\"xtc_threshold\":0.01"));
        // repeats: greedy decoding repeats itself, and continues a prompt that holds what it writes by repeating it
        String repeats = "\"temperature\":0,\"max_tokens\":40";
        String echoes = "\"prompt\":\"" + ECHOES + "\",\"temperature\":0";
        PARAMETERS.put("dry_multiplier", with(echoes + ",\"dry_allowed_length\":1", "\"dry_multiplier\":0.5"));
        PARAMETERS.put("dry_allowed_length", with(echoes + ",\"dry_multiplier\":0.5", "\"dry_allowed_length\":4"));
        PARAMETERS.put("dry_base", with(echoes + ",\"dry_multiplier\":0.5,\"dry_allowed_length\":1", "\"dry_base\":4"));
        PARAMETERS.put("dry_penalty_last_n", with(echoes + ",\"dry_multiplier\":0.5,\"dry_allowed_length\":1", "\"dry_penalty_last_n\":3"));
        PARAMETERS.put("dry_sequence_breakers", with(echoes + ",\"dry_multiplier\":0.5,\"dry_allowed_length\":1",
                "\"dry_sequence_breakers\":[\" \"]"));
        PARAMETERS.put("repeat_penalty", with(repeats, "\"repeat_penalty\":3"));
        PARAMETERS.put("repetition_penalty", with(repeats, "\"repetition_penalty\":3"));
        PARAMETERS.put("frequency_penalty", with(repeats, "\"frequency_penalty\":2"));
        PARAMETERS.put("presence_penalty", with(repeats, "\"presence_penalty\":2"));
        PARAMETERS.put("repeat_last_n", with(repeats + ",\"repeat_penalty\":3", "\"repeat_last_n\":2"));
        PARAMETERS.put("no_repeat_ngram", changesGreedyToo("\"no_repeat_ngram\":1"));
        // token ids from the model's own greedy continuation (a completion reports text, not ids)
        String greedy = "\"temperature\":0";
        PARAMETERS.put("logit_bias", new Parameter(b -> greedy, b -> "\"logit_bias\":{\"" + RequestFieldWalkerTest.GREEDY_TOKENS[0] + "\":-100}", false, false));
        PARAMETERS.put("stop_tokens", new Parameter(b -> greedy, b -> "\"stop_tokens\":[" + RequestFieldWalkerTest.GREEDY_TOKENS[2] + "]", false, false));
        PARAMETERS.put("min_tokens", new Parameter(b -> greedy + ",\"stop_tokens\":[" + RequestFieldWalkerTest.GREEDY_TOKENS[2] + "]",
                b -> "\"min_tokens\":8", false, false));
        // an end-of-generation token pushed to the front ends the completion at once, unless ignore_eos bans it
        PARAMETERS.put("ignore_eos", new Parameter(b -> "\"logit_bias\":{\"" + eos() + "\":100}", b -> "\"ignore_eos\":true", false, true));
        PARAMETERS.put("samplers", changes("\"samplers\":\"top_k;top_p\"")); // no temperature step: the draw is at T=1

        NOT_WITH_STRATEGY.put("regex", "\"regex\":\"( [a-z]{1,3})+\"");
        NOT_WITH_STRATEGY.put("grammar", "\"grammar\":\"root ::= \\\" yes\\\" | \\\" no\\\"\"");
        NOT_WITH_STRATEGY.put("json_schema", "\"json_schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}");
        NOT_WITH_STRATEGY.put("response_format", "\"response_format\":{\"type\":\"json_object\"}");
        LOGPROBS.put("logprobs", "\"logprobs\":2");
        LOGPROBS.put("top_logprobs", "\"logprobs\":true,\"top_logprobs\":2");

        OTHERS.put("model", "the name of the served model, checked against it");
        OTHERS.put("prompt", "the input");
        OTHERS.put("messages", "the input");
        OTHERS.put("n", "how many choices (each runs the strategy with its own seed)");
        OTHERS.put("best_of", "only best_of = n (a best-of-n strategy is the strategy field)");
        OTHERS.put("stream", "the response format");
        OTHERS.put("stream_options", "the response format");
        OTHERS.put("echo", "the response format: the prompt before the text");
        OTHERS.put("suffix", "refused: fill-in-the-middle is not supported");
        OTHERS.put("tools", "tool calling (ToolCallingServerTest)");
        OTHERS.put("tool_choice", "tool calling (ToolCallingServerTest)");
        OTHERS.put("parallel_tool_calls", "tool calling (ToolCallingServerTest)");
        OTHERS.put("functions", "refused: the deprecated form of tools");
        OTHERS.put("function_call", "refused: the deprecated form of tool_choice");
        OTHERS.put("strategy", "the meta-generation spec itself");
        for (String f : RequestParser.IGNORED) {
            OTHERS.put(f, "an OpenAI field accepted and ignored: it changes nothing a local model does");
        }
    }

    /** The model's own greedy continuation of the prompt. */
    static final int[] GREEDY_TOKENS = new dev.metagen.decoding.SamplingGenerator(TestServer.stories())
            .generate(dev.metagen.core.Prompt.of("Once upon a time"), dev.metagen.core.GenerationParams.greedy(12)).tokens();

    static int eos() {
        return TestServer.stories().tokenizer().special().endOfGeneration().iterator().next();
    }

    static String thirdWord(JsonNode completion) {
        String[] words = completion.path("text").asText().strip().split("\\s+");
        return words[Math.min(2, words.length - 1)];
    }

    @BeforeAll
    static void start() {
        LanguageModel m = TestServer.stories();
        server = TestServer.start(m, TestServer.config());
        baseline = complete("", false);
        greedyBaseline = complete("\"temperature\":0", false);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The base request ({@code temperature 1.2}, no truncation, 12 tokens, seed 3) with {@code fields} replacing its own. */
    static TestServer.Response request(String fields, boolean chat) {
        ObjectNode body = TestServer.JSON.createObjectNode();
        if (chat) {
            body.putArray("messages").addObject().put("role", "user").put("content", "Once upon a time");
        } else {
            body.put("prompt", "Once upon a time");
        }
        body.put("max_tokens", 12);
        body.put("seed", 3);
        body.put("temperature", 1.2);
        body.put("top_k", 0);
        body.put("top_p", 1.0);
        if (!fields.isEmpty()) {
            try {
                JsonNode extra = TestServer.JSON.readTree("{" + fields + "}");
                extra.properties().forEach(e -> body.set(e.getKey(), e.getValue()));
            } catch (Exception e) {
                throw new AssertionError("bad test fields " + fields, e);
            }
        }
        if (body.has("max_completion_tokens")) {
            body.remove("max_tokens");
        }
        return post(server, chat ? "/v1/chat/completions" : "/v1/completions", body.toString());
    }

    /** The first choice's text, finish reason and logprobs when given. */
    static JsonNode complete(String fields, boolean chat) {
        TestServer.Response r = request(fields, chat);
        assertEquals(200, r.status(), fields + ": " + r.body());
        JsonNode choice = r.json().path("choices").path(0);
        ObjectNode out = TestServer.JSON.createObjectNode();
        String text = chat ? choice.path("message").path("content").asText() : choice.path("text").asText();
        out.put("text", text);
        out.put("finish", choice.path("finish_reason").asText());
        if (choice.has("logprobs") && !choice.get("logprobs").isNull()) {
            out.set("logprobs", choice.get("logprobs"));
        }
        return out;
    }

    static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "," + b;
    }

    static String outcome(JsonNode o) {
        return o.path("text").asText() + " [" + o.path("finish").asText() + "]";
    }

    @Test
    void everyAcceptedFieldIsClassified() {
        Set<String> accepted = new TreeSet<>(RequestParser.COMMON);
        accepted.addAll(RequestParser.SAMPLING_EXTRAS);
        accepted.addAll(RequestParser.IGNORED);
        accepted.addAll(RequestParser.COMPLETIONS_ONLY);
        accepted.addAll(RequestParser.CHAT_ONLY);
        List<String> unclassified = new ArrayList<>();
        List<String> twice = new ArrayList<>();
        for (String f : accepted) {
            int rows = (PARAMETERS.containsKey(f) ? 1 : 0) + (NOT_WITH_STRATEGY.containsKey(f) ? 1 : 0) + (OTHERS.containsKey(f) ? 1 : 0)
                    + (LOGPROBS.containsKey(f) ? 1 : 0);
            if (rows == 0) {
                unclassified.add(f);
            } else if (rows > 1) {
                twice.add(f);
            }
        }
        assertTrue(unclassified.isEmpty(), "request fields the walker does not classify (add a row: a parameter with a"
                + " value that changes a completion, a field refused beside a strategy, or why it is neither): " + unclassified);
        assertTrue(twice.isEmpty(), "classified twice: " + twice);
        TreeSet<String> stale = new TreeSet<>(PARAMETERS.keySet());
        stale.addAll(NOT_WITH_STRATEGY.keySet());
        stale.addAll(OTHERS.keySet());
        stale.addAll(LOGPROBS.keySet());
        stale.removeAll(accepted);
        assertTrue(stale.isEmpty(), "rows for fields the parser no longer accepts: " + stale);
    }

    @Test
    void everyParameterChangesACompletionAndReachesAStrategysLeaves() {
        List<String> failures = new ArrayList<>();
        for (var e : PARAMETERS.entrySet()) {
            String field = e.getKey();
            Parameter p = e.getValue();
            String context = p.context().apply(baseline);
            String variant = p.variant().apply(baseline);
            try {
                JsonNode before = complete(context, p.chat());
                JsonNode after = complete(join(context, variant), p.chat());
                if (outcome(before).equals(outcome(after))) {
                    failures.add(field + " {" + variant + "} changed nothing: " + outcome(after));
                }
                JsonNode leaf = complete(join(join(context, variant), "\"strategy\":" + SAMPLE), p.chat());
                if (!outcome(after).equals(outcome(leaf))) {
                    failures.add(field + " {" + variant + "}: a sample leaf gave " + outcome(leaf) + ", the plain request " + outcome(after));
                }
                if (p.greedy()) {
                    String g = join(join(context, "\"temperature\":0"), p.variant().apply(greedyBaseline));
                    JsonNode plainGreedy = complete(g, p.chat());
                    JsonNode greedyLeaf = complete(join(g, "\"strategy\":" + GREEDY), p.chat());
                    if (!outcome(plainGreedy).equals(outcome(greedyLeaf))) {
                        failures.add(field + " greedy: a greedy leaf gave " + outcome(greedyLeaf) + ", the plain request " + outcome(plainGreedy));
                    }
                }
            } catch (AssertionError | RuntimeException x) {
                failures.add(field + ": " + x.getMessage());
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
        assertEquals(0, server.serverErrors());
    }

    @Test
    void aFieldAStrategyCannotTakeIsA400NamingIt() {
        List<String> failures = new ArrayList<>();
        for (var e : NOT_WITH_STRATEGY.entrySet()) {
            String field = e.getKey();
            boolean chat = field.equals("top_logprobs");
            // alone, it acts
            JsonNode alone = complete(e.getValue(), chat);
            if (outcome(alone).equals(outcome(baseline)) && !alone.has("logprobs")) {
                failures.add(field + " alone changed nothing: " + outcome(alone));
            }
            TestServer.Response r = request(join(e.getValue(), "\"strategy\":" + SAMPLE), chat);
            String param = r.status() == 400 ? r.json().path("error").path("param").asText() : "";
            String expected = field.equals("top_logprobs") ? "logprobs" : field;
            if (r.status() != 400 || !param.equals(expected)
                    || !r.json().path("error").path("message").asText().contains("strategy")) {
                failures.add(field + " beside a strategy: " + r.status() + " " + r.body());
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    @Test
    void logprobsOfAStrategyAreThoseOfItsChosenCandidate() {
        List<String> failures = new ArrayList<>();
        for (var e : LOGPROBS.entrySet()) {
            boolean chat = e.getKey().equals("top_logprobs");
            JsonNode plain = complete(e.getValue(), chat);
            JsonNode leaf = complete(join(e.getValue(), "\"strategy\":" + SAMPLE), chat);
            if (!plain.has("logprobs") || !plain.get("logprobs").equals(leaf.get("logprobs"))) {
                failures.add(e.getKey() + ": plain " + plain.get("logprobs") + ", through a sample leaf " + leaf.get("logprobs"));
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }
}
