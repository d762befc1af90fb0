package dev.metagen.client;

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

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    private final EndpointPool pool;
    private final String model;
    private final String apiKey;
    private final boolean chat;
    private final String systemPrompt;
    private final boolean stream;
    private final boolean logprobs;
    private final Duration requestTimeout;
    private final int maxRetries;
    private final Map<String, Object> extraBody;
    private final Semaphore inFlight;
    private final HttpClient http;

    private RemoteGenerator(Builder b) {
        if (b.endpoints.isEmpty()) {
            throw new MetagenException("a remote generator needs at least one endpoint");
        }
        List<URI> bases = new ArrayList<>();
        for (URI u : b.endpoints) {
            bases.add(normalize(u));
        }
        this.pool = new EndpointPool(bases, b.balancing, b.failureCooldown, b.initialBackoff, b.maxBackoff);
        this.model = b.model;
        this.apiKey = b.apiKey;
        this.chat = b.chat;
        this.systemPrompt = b.systemPrompt;
        this.stream = b.stream;
        this.logprobs = b.logprobs;
        this.requestTimeout = b.requestTimeout;
        this.maxRetries = b.maxRetries;
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
        EndpointPool.Endpoint previous = null;
        try {
            acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return cancelled(t0, 0);
        }
        try {
            while (attempts <= maxRetries) {
                EndpointPool.Endpoint ep = pool.pick(previous);
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
                        OpenAiResponses.Parsed p;
                        try (InputStream in = resp.body()) {
                            p = stream ? OpenAiResponses.parseStream(in, params.logprobs(), chat)
                                    : OpenAiResponses.parseJson(JSON.readTree(in), params.logprobs(), chat);
                        }
                        ep.failures.set(0);
                        return generation(p, t0, attempts, ep);
                    }
                    String text;
                    try (InputStream in = resp.body()) {
                        text = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
                    }
                    last = new MetagenException(ep.base + route + " answered " + status + ": " + OpenAiResponses.errorMessage(text));
                    if (status != 429 && status < 500) {
                        throw last; // the request itself is wrong: another try or server would say the same
                    }
                    retryAfterMs = EndpointPool.retryAfter(resp.headers().firstValue("Retry-After").orElse(null));
                    pool.markFailed(ep, retryAfterMs);
                } catch (IOException | TimeoutException e) {
                    last = new MetagenException(ep.base + route + ": " + (e instanceof TimeoutException
                            ? "no answer within " + requestTimeout.toMillis() + " ms" : describe(e)));
                    pool.markFailed(ep, -1);
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
                    Thread.sleep(pool.backoff(attempts, retryAfterMs));
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

    /** The wait before retry {@code attempt} (exponential with jitter, or Retry-After when the server sent one). */
    long backoff(int attempt, long retryAfterMs) {
        return pool.backoff(attempt, retryAfterMs);
    }

    static long retryAfter(String v) {
        return EndpointPool.retryAfter(v);
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

    private Generation generation(OpenAiResponses.Parsed p, long t0, int attempts, EndpointPool.Endpoint ep) {
        FinishReason finish = p.finish() == null ? FinishReason.STOP : switch (p.finish()) {
            case "length", "max_tokens" -> FinishReason.LENGTH;
            case "abort", "cancelled" -> FinishReason.CANCELLED;
            default -> FinishReason.STOP; // stop, eos, tool_calls, content_filter ...
        };
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("endpoint", ep.base.toString());
        trace.put("attempts", attempts);
        trace.put("remote_finish_reason", p.finish());
        trace.put("usage_reported", p.usageKnown());
        trace.putAll(p.extras());
        if (!p.tops().isEmpty()) {
            trace.put("top_logprobs", p.tops());
        }
        double[] lps = new double[p.logprobs().size()];
        for (int i = 0; i < lps.length; i++) {
            lps[i] = p.logprobs().get(i);
        }
        Cost cost = new Cost(p.promptTokens(), p.completionTokens(), 1, 0, Duration.ofNanos(System.nanoTime() - t0));
        // token ids are the remote tokenizer's business and not in the API's answer
        return new Generation(p.text(), new int[0], lps, finish, cost, trace);
    }

    private static Generation cancelled(long t0, int attempts) {
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("attempts", attempts);
        trace.put("cancelled", true);
        return new Generation("", new int[0], new double[0], FinishReason.CANCELLED,
                new Cost(0, 0, 0, 0, Duration.ofNanos(System.nanoTime() - t0)), trace);
    }

    /** Calls made to each endpoint so far, in the order given (for tests and logs). */
    public List<Long> callsPerEndpoint() {
        return pool.callsPerEndpoint();
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
