package dev.metagen.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.MetagenException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads OpenAI-compatible answers, whichever server wrote them: a JSON body or a server-sent event stream, the chat
 * or legacy completions format, usage in the body, in the last chunk or only as llama.cpp's {@code timings}, vLLM's
 * {@code stop_reason}, chat or legacy logprobs, and error bodies of every common shape.
 */
final class OpenAiResponses {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OpenAiResponses() {
    }

    static String errorMessage(String body) {
        try {
            JsonNode n = JSON.readTree(body);
            JsonNode m = n.path("error").path("message");
            if (m.isTextual()) {
                return m.textValue();
            }
            if (n.path("error").isTextual()) {
                return n.path("error").textValue();
            }
            if (n.path("message").isTextual()) { // vLLM: {"object": "error", "message": ...}
                return n.path("message").textValue();
            }
            if (n.path("detail").isTextual()) {
                return n.path("detail").textValue();
            }
        } catch (IOException | RuntimeException ignored) {
            // not JSON: show the text
        }
        String s = body.strip();
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** What one response said, whichever server wrote it. */
    record Parsed(String text, String finish, long promptTokens, long completionTokens, boolean usageKnown,
                          List<Double> logprobs, List<List<Map<String, Object>>> tops, Map<String, Object> extras) {
    }

    static Parsed parseJson(JsonNode root, int topK, boolean chat) {
        JsonNode choice = root.path("choices").path(0);
        if (choice.isMissingNode()) {
            throw new MetagenException("the server's answer has no choices: " + abbreviate(root.toString()));
        }
        String text = chat ? choice.path("message").path("content").asText("") : choice.path("text").asText("");
        List<Double> lps = new ArrayList<>();
        List<List<Map<String, Object>>> tops = new ArrayList<>();
        readLogprobs(choice.path("logprobs"), lps, tops, topK);
        Map<String, Object> extras = new LinkedHashMap<>();
        readExtras(root, choice, extras);
        Usage u = usage(root, lps.size());
        return new Parsed(text, finishOf(choice), u.prompt, u.completion, u.known, lps, tops, extras);
    }

    static Parsed parseStream(InputStream in, int topK, boolean chat) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        StringBuilder text = new StringBuilder();
        String finish = null;
        List<Double> lps = new ArrayList<>();
        List<List<Map<String, Object>>> tops = new ArrayList<>();
        Map<String, Object> extras = new LinkedHashMap<>();
        Usage u = null;
        String line;
        while ((line = r.readLine()) != null) {
            if (!line.startsWith("data:")) {
                continue; // blank separators, comments (": ping"), event names
            }
            String data = line.substring(5).strip();
            if (data.equals("[DONE]")) {
                break;
            }
            JsonNode ev = JSON.readTree(data);
            if (ev.has("error")) {
                throw new MetagenException("the server reported an error mid-stream: " + errorMessage(data));
            }
            JsonNode choice = ev.path("choices").path(0);
            if (!choice.isMissingNode()) {
                text.append(chat ? choice.path("delta").path("content").asText("") : choice.path("text").asText(""));
                readLogprobs(choice.path("logprobs"), lps, tops, topK);
                String f = finishOf(choice);
                if (f != null) {
                    finish = f;
                }
                readExtras(ev, choice, extras);
            } else {
                readExtras(ev, choice, extras);
            }
            // usage arrives in the last chunk (OpenAI, vLLM with include_usage), in every chunk (vLLM's
            // continuous_usage_stats), or not at all (llama.cpp puts timings in its last chunk instead)
            Usage cu = usage(ev, -1);
            if (cu.known) {
                u = cu;
            }
        }
        if (u == null) {
            u = usage(JSON.valueToTree(Map.of("timings", extras.getOrDefault("timings", Map.of()))), lps.size());
        }
        return new Parsed(text.toString(), finish, u.prompt, u.completion, u.known, lps, tops, extras);
    }

    private record Usage(long prompt, long completion, boolean known) {
    }

    /** Usage from {@code usage}, else llama.cpp's {@code timings} (prompt_n, predicted_n), else the logprob count. */
    private static Usage usage(JsonNode root, int logprobCount) {
        JsonNode u = root.path("usage");
        if (u.isObject() && u.has("completion_tokens")) {
            return new Usage(u.path("prompt_tokens").asLong(0), u.path("completion_tokens").asLong(0), true);
        }
        JsonNode t = root.path("timings");
        if (t.isObject() && t.has("predicted_n")) {
            return new Usage(t.path("prompt_n").asLong(0), t.path("predicted_n").asLong(0), true);
        }
        return new Usage(0, Math.max(logprobCount, 0), logprobCount > 0);
    }

    private static String finishOf(JsonNode choice) {
        JsonNode f = choice.path("finish_reason");
        return f.isTextual() ? f.textValue() : null;
    }

    /**
     * The chosen tokens' log-probabilities into {@code out} and, when {@code topK > 0}, each step's top {@code topK}
     * alternatives into {@code tops} as {@code text} and {@code logprob}, most likely first (the API names no token ids).
     */
    private static void readLogprobs(JsonNode lp, List<Double> out, List<List<Map<String, Object>>> tops, int topK) {
        if (lp.isObject() && lp.path("content").isArray()) { // chat format
            for (JsonNode t : lp.path("content")) {
                out.add(t.path("logprob").asDouble());
                if (topK > 0) {
                    List<Map<String, Object>> alts = new ArrayList<>();
                    for (JsonNode a : t.path("top_logprobs")) {
                        alts.add(alternative(a.path("token").asText(""), a.path("logprob").asDouble()));
                    }
                    tops.add(best(alts, topK));
                }
            }
        } else if (lp.isObject() && lp.path("token_logprobs").isArray()) { // legacy completions format
            for (JsonNode v : lp.path("token_logprobs")) {
                out.add(v.isNumber() ? v.doubleValue() : Double.NaN); // null for a first echoed token
            }
            if (topK > 0) {
                for (JsonNode step : lp.path("top_logprobs")) {
                    List<Map<String, Object>> alts = new ArrayList<>();
                    for (Map.Entry<String, JsonNode> a : step.properties()) {
                        alts.add(alternative(a.getKey(), a.getValue().asDouble()));
                    }
                    tops.add(best(alts, topK));
                }
            }
        }
    }

    private static Map<String, Object> alternative(String text, double logprob) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("text", text);
        m.put("logprob", logprob);
        return m;
    }

    private static List<Map<String, Object>> best(List<Map<String, Object>> alts, int k) {
        alts.sort((a, b) -> Double.compare((double) b.get("logprob"), (double) a.get("logprob")));
        return List.copyOf(alts.subList(0, Math.min(k, alts.size())));
    }

    /** Server-specific fields worth keeping in the trace. */
    private static void readExtras(JsonNode root, JsonNode choice, Map<String, Object> extras) {
        if (root.path("timings").isObject()) {
            extras.put("timings", JSON.convertValue(root.path("timings"), Map.class)); // llama.cpp
        }
        JsonNode sr = choice.path("stop_reason"); // vLLM: the stop string or token id that ended the output
        if (!sr.isMissingNode() && !sr.isNull()) {
            extras.put("stop_reason", sr.isNumber() ? (Object) sr.numberValue() : sr.asText());
        }
        if (root.path("system_fingerprint").isTextual()) {
            extras.put("system_fingerprint", root.path("system_fingerprint").textValue());
        }
        if (root.path("model").isTextual()) {
            extras.put("remote_model", root.path("model").textValue());
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
