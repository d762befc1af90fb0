package dev.metagen.meta.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.Generation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Scope;
import dev.metagen.meta.ScopedScorer;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;

/**
 * A reward model behind a vLLM-compatible pooling server (vLLM, or metagen's own server): one HTTP request per
 * candidate to {@code /score} ({@code text_1} = prompt, {@code text_2} = candidate; the answer's
 * {@code data[0].score}), {@code /rerank} ({@code query}, {@code documents: [candidate]};
 * {@code results[0].relevance_score}), {@code /classify} ({@code input} = the templated text;
 * {@code data[0].probs[label]}) or {@code /pooling} ({@code input}; {@code data[0].data}, a vector whose entry
 * {@code label} is read, or one vector per token, of which the last is read). The base URL is an operator's named
 * endpoint; each request is charged as one model call with the prompt tokens the server reports
 * ({@code usage.prompt_tokens}, or {@code usage.total_tokens} for rerank). Answers are read up to 16 MiB.
 */
public final class RemoteRewardScorer implements ScopedScorer {
    /** The vLLM endpoints a remote reward reads. */
    public enum Endpoint {
        /** vLLM's {@code /score}: the relevance of a (query, document) pair. */
        SCORE,
        /** vLLM's {@code /rerank}: documents ranked against a query. */
        RERANK,
        /** vLLM's {@code /classify}: class probabilities of a text. */
        CLASSIFY,
        /** vLLM's {@code /pooling}: the pooled output of a text. */
        POOLING;

        /**
         * The endpoint a spec names.
         *
         * @param s {@code score}, {@code rerank}, {@code classify} or {@code pooling}
         * @return the endpoint, or null for another name
         */
        public static Endpoint parse(String s) {
            for (Endpoint e : values()) {
                if (e.name().toLowerCase(Locale.ROOT).equals(s)) {
                    return e;
                }
            }
            return null;
        }

        String path() {
            return "/" + name().toLowerCase(Locale.ROOT);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ANSWER_BYTES = 16 << 20;

    private final URI uri;
    private final Endpoint endpoint;
    private final String servedModel;
    private final String template;
    private final int label;
    private final Duration timeout;
    private final HttpClient http;

    /**
     * Creates the remote reward scorer.
     *
     * @param baseUrl     the server ({@code http://host:8000}; a trailing {@code /v1} is dropped, as vLLM serves these
     *                    endpoints at the root; a {@code #SERVED_MODEL} fragment names the model to send)
     * @param servedModel the {@code model} field sent, or null for the fragment's or none (the server's only model)
     * @param endpoint the endpoint
     * @param template the template
     * @param label the label
     * @param timeout the timeout
     */
    public RemoteRewardScorer(String baseUrl, Endpoint endpoint, String servedModel, String template, int label, Duration timeout) {
        int hash = baseUrl.indexOf('#');
        String fragment = hash < 0 ? "" : baseUrl.substring(hash + 1);
        String base = (hash < 0 ? baseUrl : baseUrl.substring(0, hash)).replaceAll("/+$", "").replaceFirst("/v1$", "");
        this.uri = URI.create(base + endpoint.path());
        this.endpoint = endpoint;
        // an endpoint named as URL#SERVED_MODEL serves that model, unless the spec names another
        this.servedModel = servedModel != null ? servedModel : fragment.isEmpty() ? null : fragment;
        this.template = template;
        this.label = label;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** The request body for a candidate. */
    ObjectNode body(String prompt, String candidate) {
        ObjectNode o = JSON.createObjectNode();
        if (servedModel != null) {
            o.put("model", servedModel);
        }
        switch (endpoint) {
            case SCORE -> o.put("text_1", prompt).put("text_2", candidate);
            case RERANK -> {
                o.put("query", prompt);
                o.putArray("documents").add(candidate);
            }
            case CLASSIFY, POOLING -> o.put("input", ScoringPass.fill(template, prompt, candidate));
        }
        return o;
    }

    /** The score and the prompt tokens charged, read from an answer. */
    record Reading(double score, long promptTokens) {
    }

    Reading read(JsonNode answer) {
        JsonNode usage = answer.path("usage");
        long tokens = usage.path(endpoint == Endpoint.RERANK ? "total_tokens" : "prompt_tokens").asLong(0);
        JsonNode v = switch (endpoint) {
            case SCORE -> answer.path("data").path(0).path("score");
            case RERANK -> answer.path("results").path(0).path("relevance_score");
            case CLASSIFY -> answer.path("data").path(0).path("probs").path(label);
            case POOLING -> {
                JsonNode d = answer.path("data").path(0).path("data");
                if (d.isArray() && d.size() > 0 && d.get(0).isArray()) {
                    d = d.get(d.size() - 1); // one vector per token: the last token's
                }
                yield d.path(label);
            }
        };
        if (!v.isNumber()) {
            throw new MetagenException("remote_reward: " + uri + " answered without a score where " + endpoint.path()
                    + " puts it (label " + label + "): " + abbreviate(answer.toString()));
        }
        return new Reading(v.asDouble(), tokens);
    }

    @Override
    public double score(Prompt prompt, Generation candidate, Scope scope) {
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(body(prompt.text(), candidate.text()));
        } catch (IOException e) {
            throw new MetagenException("remote_reward: " + e.getMessage(), e);
        }
        long[] charged = new long[1];
        // the prompt tokens are known from the answer only: the pass charges them after the request
        return ScoringPass.run(scope, 1, () -> charged[0], () -> {
            JsonNode answer = post(body);
            if (answer == null) {
                return new double[]{Double.NaN}; // interrupted: the scope stops the strategy and uses no score
            }
            Reading r = read(answer);
            charged[0] = r.promptTokens();
            return new double[]{r.score()};
        })[0];
    }

    private JsonNode post(byte[] body) {
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            byte[] bytes;
            try (InputStream in = resp.body()) {
                bytes = in.readNBytes(MAX_ANSWER_BYTES + 1);
            }
            if (bytes.length > MAX_ANSWER_BYTES) {
                throw new MetagenException("remote_reward: " + uri + " answered more than " + MAX_ANSWER_BYTES + " bytes");
            }
            String text = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            if (resp.statusCode() != 200) {
                throw new MetagenException("remote_reward: " + uri + " answered HTTP " + resp.statusCode() + ": " + abbreviate(text));
            }
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new MetagenException("remote_reward: " + uri + ": " + MetagenException.describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the scope sees the interrupt and stops the strategy
            return null;
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
