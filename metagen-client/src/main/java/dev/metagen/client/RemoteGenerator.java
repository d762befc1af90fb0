package dev.metagen.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Generator} over any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, metagen's own), so
 * every meta-generation strategy (Welleck et al., 2024, section 4) runs over large remote models: one pooled HTTP
 * client, a bound on requests in flight, timeouts, retries with exponential backoff on 429, 5xx and connection
 * errors (honouring Retry-After), several endpoints balanced round-robin or by fewest outstanding requests with
 * failing ones skipped for a while, and cancellation by thread interrupt. Each call's usage is counted into its
 * {@link Cost}; the servers' format differences (llama.cpp's {@code timings}, vLLM's {@code stop_reason}, usage
 * missing or only in the last stream chunk) are read where they appear.
 */
public final class RemoteGenerator implements Generator, AutoCloseable {
    /** How a call picks its endpoint. */
    public enum Balancing { ROUND_ROBIN, LEAST_OUTSTANDING }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Endpoint> endpoints;
    private final String model;
    private final String apiKey;
    private final boolean chat;
    private final String systemPrompt;
    private final boolean stream;
    private final boolean logprobs;
    private final Duration requestTimeout;
    private final int maxRetries;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration failureCooldown;
    private final Balancing balancing;
    private final Map<String, Object> extraBody;
    private final Semaphore inFlight;
    private final HttpClient http;
    private final AtomicLong turn = new AtomicLong();

    /** One server: its base URI, requests in flight, and until when it is skipped after a failure. */
    private static final class Endpoint {
        final URI base;
        final AtomicLong outstanding = new AtomicLong();
        volatile long failedUntilNanos;
        final AtomicLong failures = new AtomicLong();
        final AtomicLong calls = new AtomicLong();

        Endpoint(URI base) {
            this.base = base;
        }

        boolean healthy(long now) {
            return now - failedUntilNanos >= 0;
        }
    }

    private RemoteGenerator(Builder b) {
        if (b.endpoints.isEmpty()) {
            throw new MetagenException("a remote generator needs at least one endpoint");
        }
        List<Endpoint> eps = new ArrayList<>();
        long now = System.nanoTime();
        for (URI u : b.endpoints) {
            Endpoint e = new Endpoint(normalize(u));
            e.failedUntilNanos = now;
            eps.add(e);
        }
        this.endpoints = List.copyOf(eps);
        this.model = b.model;
        this.apiKey = b.apiKey;
        this.chat = b.chat;
        this.systemPrompt = b.systemPrompt;
        this.stream = b.stream;
        this.logprobs = b.logprobs;
        this.requestTimeout = b.requestTimeout;
        this.maxRetries = b.maxRetries;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.failureCooldown = b.failureCooldown;
        this.balancing = b.balancing;
        this.extraBody = Map.copyOf(b.extraBody);
        this.inFlight = new Semaphore(b.maxConcurrent, true);
        this.http = HttpClient.newBuilder().connectTimeout(b.connectTimeout).version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A generator over the endpoint of a named model's reference, {@code http(s)://host:port[/v1][#MODEL]}: the
     * fragment, when given, is the {@code model} field sent (a server that hosts one model needs none). It asks for
     * the chosen tokens' log-probabilities, which a local leaf always reports and log-prob scorers read.
     */
    public static RemoteGenerator forReference(String reference) {
        URI u;
        try {
            u = new URI(reference);
        } catch (java.net.URISyntaxException e) {
            throw new MetagenException("endpoint is not a URL: " + reference + " (" + e.getReason() + ")");
        }
        if (u.getRawQuery() != null) {
            throw new MetagenException("endpoint " + reference + ": a query string is not sent; give http(s)://host:port/v1[#MODEL]");
        }
        Builder b = builder().endpoint(u).logprobs(true);
        if (u.getFragment() != null && !u.getFragment().isBlank()) {
            b.model(u.getFragment());
        }
        return b.build();
    }

    /** {@code http://host:8000}, {@code http://host:8000/} and {@code http://host:8000/v1} all mean the same server. */
    static URI normalize(URI u) {
        if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
            throw new MetagenException("endpoint must be an http(s) URL like http://localhost:8000, got " + u);
        }
        String path = u.getPath() == null ? "" : u.getPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (path.endsWith("/v1")) {
            path = path.substring(0, path.length() - 3);
        }
        return URI.create(u.getScheme() + "://" + u.getRawAuthority() + path);
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        long t0 = System.nanoTime();
        byte[] body = requestBody(prompt, params);
        String route = chat ? "/v1/chat/completions" : "/v1/completions";
        MetagenException last = null;
        int attempts = 0;
        Endpoint previous = null;
        try {
            acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return cancelled(t0, 0);
        }
        try {
            while (attempts <= maxRetries) {
                Endpoint ep = pick(previous);
                previous = ep;
                attempts++;
                ep.outstanding.incrementAndGet();
                ep.calls.incrementAndGet();
                long retryAfterMs = -1;
                try {
                    HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(ep.base + route)).timeout(requestTimeout)
                            .header("Content-Type", "application/json")
                            .header("Accept", stream ? "text/event-stream" : "application/json")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
                    if (apiKey != null) {
                        rb.header("Authorization", "Bearer " + apiKey);
                    }
                    HttpResponse<InputStream> resp = send(rb.build());
                    int status = resp.statusCode();
                    if (status == 200) {
                        Parsed p;
                        try (InputStream in = resp.body()) {
                            p = stream ? parseStream(in, params.logprobs()) : parseJson(JSON.readTree(in), params.logprobs());
                        }
                        ep.failures.set(0);
                        return generation(p, t0, attempts, ep);
                    }
                    String text;
                    try (InputStream in = resp.body()) {
                        text = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
                    }
                    last = new MetagenException(ep.base + route + " answered " + status + ": " + errorMessage(text));
                    if (status != 429 && status < 500) {
                        throw last; // the request itself is wrong: another try or server would say the same
                    }
                    retryAfterMs = retryAfter(resp.headers().firstValue("Retry-After").orElse(null));
                    markFailed(ep, retryAfterMs);
                } catch (IOException | TimeoutException e) {
                    last = new MetagenException(ep.base + route + ": " + (e instanceof TimeoutException
                            ? "no answer within " + requestTimeout.toMillis() + " ms" : describe(e)));
                    markFailed(ep, -1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // the caller cancelled: keep the flag for it to see
                    return cancelled(t0, attempts);
                } finally {
                    ep.outstanding.decrementAndGet();
                }
                if (attempts > maxRetries) {
                    break;
                }
                try {
                    Thread.sleep(backoff(attempts, retryAfterMs));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return cancelled(t0, attempts);
                }
            }
        } finally {
            inFlight.release();
        }
        throw new MetagenException("remote generation failed after " + attempts + " attempt(s): " + (last == null ? "no endpoint answered" : MetagenException.describe(last)));
    }

    /**
     * One request per call (a retry repeats the same request and is not charged again). Checks that every setting of
     * {@code params} can be sent, so a budget's reservation refuses what the call would refuse.
     */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        requestBody(prompt, params);
        return 1;
    }

    private void acquire() throws InterruptedException {
        inFlight.acquire();
    }

    /** Sends asynchronously so that an interrupt of the waiting thread aborts the exchange (the server sees a disconnect). */
    private HttpResponse<InputStream> send(HttpRequest req) throws IOException, InterruptedException, TimeoutException {
        CompletableFuture<HttpResponse<InputStream>> f = http.sendAsync(req, HttpResponse.BodyHandlers.ofInputStream());
        try {
            return f.get(requestTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            f.cancel(true);
            throw e;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw e;
        } catch (CancellationException e) {
            throw new InterruptedException("cancelled");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof java.net.http.HttpTimeoutException t) {
                throw new TimeoutException(t.getMessage());
            }
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IOException(c);
        }
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private Endpoint pick(Endpoint previous) {
        long now = System.nanoTime();
        List<Endpoint> healthy = new ArrayList<>();
        for (Endpoint e : endpoints) {
            if (e.healthy(now)) {
                healthy.add(e);
            }
        }
        // a retry prefers another server; when every server is failing, try them all anyway
        if (healthy.size() > 1 && previous != null) {
            healthy.remove(previous);
        }
        List<Endpoint> pool = healthy.isEmpty() ? endpoints : healthy;
        long t = turn.getAndIncrement();
        if (balancing == Balancing.ROUND_ROBIN || pool.size() == 1) {
            return pool.get((int) Math.floorMod(t, (long) pool.size()));
        }
        Endpoint best = null;
        for (int i = 0; i < pool.size(); i++) {
            Endpoint e = pool.get((int) Math.floorMod(t + i, (long) pool.size())); // ties go round-robin
            if (best == null || e.outstanding.get() < best.outstanding.get()) {
                best = e;
            }
        }
        return best;
    }

    private void markFailed(Endpoint ep, long retryAfterMs) {
        ep.failures.incrementAndGet();
        long ms = Math.max(failureCooldown.toMillis(), retryAfterMs);
        ep.failedUntilNanos = System.nanoTime() + ms * 1_000_000;
    }

    long backoff(int attempt, long retryAfterMs) {
        if (retryAfterMs >= 0) {
            return Math.min(retryAfterMs, maxBackoff.toMillis());
        }
        long base = initialBackoff.toMillis() << Math.min(attempt - 1, 20);
        long capped = Math.min(base, maxBackoff.toMillis());
        return capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1); // jitter: retries do not arrive together
    }

    /** Retry-After as seconds or an HTTP date; -1 when absent or unreadable. */
    static long retryAfter(String v) {
        if (v == null || v.isBlank()) {
            return -1;
        }
        try {
            return Math.max(0, (long) (Double.parseDouble(v.strip()) * 1000));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(v.strip(), DateTimeFormatter.RFC_1123_DATE_TIME);
                return Math.max(0, when.toInstant().toEpochMilli() - System.currentTimeMillis());
            } catch (RuntimeException e2) {
                return -1;
            }
        }
    }

    private static String errorMessage(String body) {
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

    private byte[] requestBody(Prompt prompt, GenerationParams params) {
        ObjectNode o = JSON.createObjectNode();
        if (model != null) {
            o.put("model", model);
        }
        if (chat) {
            ArrayNode msgs = o.putArray("messages");
            if (systemPrompt != null) {
                msgs.addObject().put("role", "system").put("content", systemPrompt);
            }
            msgs.addObject().put("role", "user").put("content", prompt.text());
        } else {
            o.put("prompt", prompt.text());
        }
        RequestFields.put(o, params, chat, logprobs);
        if (stream) {
            o.put("stream", true);
            o.putObject("stream_options").put("include_usage", true);
        }
        for (Map.Entry<String, Object> e : extraBody.entrySet()) {
            o.set(e.getKey(), JSON.valueToTree(e.getValue()));
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new MetagenException("cannot write the request body: " + MetagenException.describe(e));
        }
    }

    /** What one response said, whichever server wrote it. */
    private record Parsed(String text, String finish, long promptTokens, long completionTokens, boolean usageKnown,
                          List<Double> logprobs, List<List<Map<String, Object>>> tops, Map<String, Object> extras) {
    }

    private Parsed parseJson(JsonNode root, int topK) {
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

    private Parsed parseStream(InputStream in, int topK) throws IOException {
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

    private Generation generation(Parsed p, long t0, int attempts, Endpoint ep) {
        FinishReason finish = p.finish == null ? FinishReason.STOP : switch (p.finish) {
            case "length", "max_tokens" -> FinishReason.LENGTH;
            case "abort", "cancelled" -> FinishReason.CANCELLED;
            default -> FinishReason.STOP; // stop, eos, tool_calls, content_filter ...
        };
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("endpoint", ep.base.toString());
        trace.put("attempts", attempts);
        trace.put("remote_finish_reason", p.finish);
        trace.put("usage_reported", p.usageKnown);
        trace.putAll(p.extras);
        if (!p.tops.isEmpty()) {
            trace.put("top_logprobs", p.tops);
        }
        double[] lps = new double[p.logprobs.size()];
        for (int i = 0; i < lps.length; i++) {
            lps[i] = p.logprobs.get(i);
        }
        Cost cost = new Cost(p.promptTokens, p.completionTokens, 1, 0, Duration.ofNanos(System.nanoTime() - t0));
        // token ids are the remote tokenizer's business and not in the API's answer
        return new Generation(p.text, new int[0], lps, finish, cost, trace);
    }

    private static Generation cancelled(long t0, int attempts) {
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("attempts", attempts);
        trace.put("cancelled", true);
        return new Generation("", new int[0], new double[0], FinishReason.CANCELLED,
                new Cost(0, 0, 0, 0, Duration.ofNanos(System.nanoTime() - t0)), trace);
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** Calls made to each endpoint so far, in the order given (for tests and logs). */
    public List<Long> callsPerEndpoint() {
        return endpoints.stream().map(e -> e.calls.get()).toList();
    }

    @Override
    public void close() {
        http.close();
    }

    /** Builds a {@link RemoteGenerator}; only an endpoint is required. */
    public static final class Builder {
        private final List<URI> endpoints = new ArrayList<>();
        private String model;
        private String apiKey;
        private boolean chat;
        private String systemPrompt;
        private boolean stream;
        private boolean logprobs;
        private int maxConcurrent = 16;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofMinutes(5);
        private int maxRetries = 4;
        private Duration initialBackoff = Duration.ofMillis(250);
        private Duration maxBackoff = Duration.ofSeconds(20);
        private Duration failureCooldown = Duration.ofSeconds(5);
        private Balancing balancing = Balancing.LEAST_OUTSTANDING;
        private final Map<String, Object> extraBody = new LinkedHashMap<>();

        private Builder() {
        }

        /** A server's base URL ({@code http://host:8000} or {@code .../v1}); repeat for several, load-balanced. */
        public Builder endpoint(URI uri) {
            endpoints.add(normalize(Objects.requireNonNull(uri)));
            return this;
        }

        public Builder endpoint(String uri) {
            try {
                return endpoint(URI.create(uri));
            } catch (IllegalArgumentException e) {
                throw new MetagenException("endpoint is not a URL: " + uri);
            }
        }

        public Builder endpoints(List<URI> uris) {
            uris.forEach(this::endpoint);
            return this;
        }

        /** The {@code model} field sent (servers that host one model ignore it). */
        public Builder model(String name) {
            this.model = name;
            return this;
        }

        public Builder apiKey(String key) {
            this.apiKey = key;
            return this;
        }

        /** Use /v1/chat/completions with the prompt as one user message (the server applies its chat template). */
        public Builder chat(boolean on) {
            this.chat = on;
            return this;
        }

        /** With {@link #chat}: a system message before the prompt. */
        public Builder systemPrompt(String text) {
            this.systemPrompt = text;
            return this;
        }

        /** Receive the answer as server-sent events: a cancelled call then stops the server's generation at once. */
        public Builder stream(boolean on) {
            this.stream = on;
            return this;
        }

        /** Ask for each generated token's logprob (scorers that read logprobs need it). */
        public Builder logprobs(boolean on) {
            this.logprobs = on;
            return this;
        }

        public Builder maxConcurrent(int n) {
            if (n < 1) {
                throw new MetagenException("maxConcurrent must be >= 1, got " + n);
            }
            this.maxConcurrent = n;
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = positive(d, "connectTimeout");
            return this;
        }

        public Builder requestTimeout(Duration d) {
            this.requestTimeout = positive(d, "requestTimeout");
            return this;
        }

        /** Retries after the first try (0 = none). */
        public Builder maxRetries(int n) {
            if (n < 0) {
                throw new MetagenException("maxRetries must be >= 0, got " + n);
            }
            this.maxRetries = n;
            return this;
        }

        /** First retry waits about this long, doubling each time up to {@code max}; Retry-After wins when sent. */
        public Builder backoff(Duration initial, Duration max) {
            this.initialBackoff = positive(initial, "initial backoff");
            this.maxBackoff = positive(max, "max backoff");
            return this;
        }

        /** How long an endpoint that failed is skipped (while others are healthy). */
        public Builder failureCooldown(Duration d) {
            this.failureCooldown = Objects.requireNonNull(d);
            return this;
        }

        public Builder balancing(Balancing b) {
            this.balancing = Objects.requireNonNull(b);
            return this;
        }

        /** An extra request field, e.g. {@code min_p}, {@code repetition_penalty}, {@code response_format}. */
        public Builder extra(String field, Object value) {
            extraBody.put(field, value);
            return this;
        }

        public RemoteGenerator build() {
            return new RemoteGenerator(this);
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new MetagenException(what + " must be positive, got " + d);
            }
            return d;
        }
    }
}
