package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.metagen.control.grammar.CompileBudget;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.runtime.ModelRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible HTTP server over one local model: {@code GET /health}, {@code GET /v1/models},
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, JSON or server-sent events, vLLM's pooling
 * endpoints for reward models ({@link ScoreEndpoints}), and the {@code /ui} playground ({@link Playground}).
 *
 * <p>Built on the JDK's {@code com.sun.net.httpserver} rather than Javalin: generation is blocking code, SSE is just
 * a chunked response we flush per event, and no dependency (Jetty, Kotlin, servlet API) enters the shaded CLI jar.
 * What a framework would add (routing, body limits, auth) is a few dozen lines here, tested by the fuzz, load and
 * abuse tests. Three kinds of threads, so that no request can stall the server:
 * <ul>
 *   <li>a few platform threads take every exchange from the HTTP dispatcher; they answer {@code /health},
 *       {@code /v1/models} and refusals (auth, method, route) themselves and hand completions on at once;</li>
 *   <li>one virtual thread per completion reads the body (a slow client costs a parked virtual thread, nothing
 *       more), queues the work in {@link Admission} (503 at once when full), then writes keep-alives and watches
 *       the deadline until the work is done;</li>
 *   <li>a bounded pool of platform workers ({@link Admission}) does all the request's work: JSON parsing,
 *       tokenization, chat templates, constraint and strategy compilation under operator ceilings, generation.</li>
 * </ul>
 * Every admitted request ends with an answer or an error: an error event and {@code data: [DONE]} in a stream.
 */
public final class OpenAiServer implements AutoCloseable {
    /** How long past its deadline a worker may take to stop by itself before the connection thread answers for it. */
    private static final long DEADLINE_GRACE_MS = 500;

    private final HttpServer http;
    private final ExecutorService front;
    private final ServerConfig config;
    private final String modelId;
    private final LanguageModel model;
    private final RequestParser parser;
    private final Completions completions;
    private final Playground playground;
    private final ScoreEndpoints scores;
    private final Admission admission;
    // completions holding a body in memory (read, queued or running): bounds what bodies can take of the heap
    private final Semaphore inFlight;
    private final byte[] apiKey;
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong serverErrors = new AtomicLong();

    private OpenAiServer(LanguageModel model, String modelId, ChatFormatter chat, ServerConfig config, ModelRegistry models)
            throws IOException {
        this.config = config;
        this.modelId = modelId;
        this.model = model;
        this.parser = new RequestParser(model, config, chat);
        this.completions = new Completions(model, modelId, config, models);
        this.playground = new Playground(model, modelId, config, models);
        this.scores = new ScoreEndpoints(model, modelId, models, config);
        this.admission = new Admission(config.maxConcurrent(), config.queue());
        this.inFlight = new Semaphore(config.maxConcurrent() + config.queue());
        this.apiKey = config.apiKey() == null ? null : ("Bearer " + config.apiKey()).getBytes(StandardCharsets.UTF_8);
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 256);
        AtomicInteger ids = new AtomicInteger();
        this.front = Executors.newFixedThreadPool(4, r -> Thread.ofPlatform().daemon().name("metagen-http-" + ids.incrementAndGet()).unstarted(r));
        http.setExecutor(front);
        http.createContext("/", this::handle);
    }

    /**
     * Starts serving {@code model} (on either backend) under the name {@code modelId} (null: the file name without
     * {@code .gguf}); chat requests are rendered with the model's own chat template (read from its GGUF file), or a
     * plain transcript when it has none.
     */
    public static OpenAiServer start(LanguageModel model, String modelId, ServerConfig config) {
        return start(model, modelId, config, ModelRegistry.of(model));
    }

    /**
     * As {@link #start(LanguageModel, String, ServerConfig)}, with the named models of {@code models} (whose
     * default is {@code model}) for the leaves, judges and guidance of strategy requests ({@code "model": "NAME"}).
     */
    public static OpenAiServer start(LanguageModel model, String modelId, ServerConfig config, ModelRegistry models) {
        String id = modelId;
        if (id == null) {
            java.nio.file.Path file = ModelLoader.fileOf(model);
            id = file != null ? file.getFileName().toString().replaceFirst("\\.gguf$", "") : model.info().name();
        }
        return start(model, id, new ChatFormatter(ModelLoader.chatTemplate(model), model.tokenizer()), config, models);
    }

    /** Starts serving {@code model}; chat requests are rendered by {@code chat}. */
    static OpenAiServer start(LanguageModel model, String modelId, ChatFormatter chat, ServerConfig config) {
        return start(model, modelId, chat, config, ModelRegistry.of(model));
    }

    static OpenAiServer start(LanguageModel model, String modelId, ChatFormatter chat, ServerConfig config, ModelRegistry models) {
        try {
            OpenAiServer s = new OpenAiServer(model, modelId, chat, config, models);
            s.http.start();
            return s;
        } catch (IOException e) {
            throw new MetagenException("cannot listen on " + config.host() + ":" + config.port() + ": " + MetagenException.describe(e));
        }
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    public String modelId() {
        return modelId;
    }

    /** Requests answered with status 500 or above since start (the fuzz and load tests expect none). */
    public long serverErrors() {
        return serverErrors.get();
    }

    @Override
    public void close() {
        http.stop(0);
        admission.close();
        front.shutdownNow();
    }

    /** On a front thread: quick answers here, completions handed to their own connection thread. */
    private void handle(HttpExchange ex) {
        served.incrementAndGet();
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        boolean handedOn = false;
        try {
            if (path.equals("/health")) {
                requireMethod(method, "GET");
                ObjectNode o = Json.MAPPER.createObjectNode().put("status", "ok").put("model", modelId);
                o.put("running", admission.running());
                o.put("waiting", admission.waiting());
                sendJson(ex, 200, o);
                return;
            }
            if (path.equals("/ui") || path.equals("/ui/")) { // the page holds no data: its requests carry the key
                requireMethod(method, "GET");
                playground.page(ex);
                return;
            }
            authorize(ex);
            switch (path) {
                case "/v1/models" -> {
                    requireMethod(method, "GET");
                    sendJson(ex, 200, models());
                }
                case "/v1/completions", "/v1/chat/completions" -> {
                    requireMethod(method, "POST");
                    boolean chat = path.equals("/v1/chat/completions");
                    Thread.ofVirtual().name("metagen-conn").start(() -> posted(ex, (body, ctx, reply) -> work(body, chat, false, ctx, reply)));
                    handedOn = true;
                }
                case "/ui/run" -> {
                    requireMethod(method, "POST");
                    Thread.ofVirtual().name("metagen-conn").start(() -> posted(ex, (body, ctx, reply) -> work(body, false, true, ctx, reply)));
                    handedOn = true;
                }
                case "/score", "/v1/score", "/rerank", "/v1/rerank", "/classify", "/pooling" -> {
                    requireMethod(method, "POST");
                    Thread.ofVirtual().name("metagen-conn").start(() -> posted(ex, (body, ctx, reply) -> score(path, body, ctx, reply)));
                    handedOn = true;
                }
                default -> {
                    if (path.startsWith("/v1/models/")) {
                        requireMethod(method, "GET");
                        String id = path.substring("/v1/models/".length());
                        if (!id.equals(modelId)) {
                            throw new ApiException(404, "invalid_request_error", "model", "model_not_found", "no model '" + id + "' here; this server has '" + modelId + "'");
                        }
                        sendJson(ex, 200, (ObjectNode) models().path("data").path(0));
                        return;
                    }
                    throw new ApiException(404, "invalid_request_error", null, "not_found", "no route " + method + " " + path);
                }
            }
        } catch (ApiException e) {
            fail(new Reply(ex), e);
        } catch (IOException | RuntimeException e) {
            // the client went away while we answered
        } finally {
            if (!handedOn) {
                ex.close();
            }
        }
    }

    /** The work of a posted request, run on a worker of {@link Admission}. */
    private interface Work {
        void run(byte[] body, RequestContext ctx, Reply reply);
    }

    /** On the connection's virtual thread: reads the body, queues the work, then keeps the connection and watches. */
    private void posted(HttpExchange ex, Work work) {
        Reply reply = new Reply(ex);
        if (!inFlight.tryAcquire()) {
            fail(reply, Admission.overloaded("the server is busy (" + (config.maxConcurrent() + config.queue()) + " requests in flight); retry later"));
            ex.close();
            return;
        }
        try (ex) {
            byte[] body;
            try {
                body = readBody(ex);
            } catch (ApiException e) {
                fail(reply, e);
                return;
            } catch (IOException e) {
                return; // the client went away while sending
            }
            RequestContext ctx = new RequestContext(config.deadlineMs());
            AtomicBoolean started = new AtomicBoolean();
            Future<?> job;
            try {
                job = admission.submit(() -> {
                    started.set(true);
                    work.run(body, ctx, reply);
                });
            } catch (ApiException e) {
                fail(reply, e);
                return;
            }
            watch(job, ctx, reply, started);
        } finally {
            inFlight.release();
        }
    }

    /**
     * Waits for the work, writing a keep-alive every heartbeat so that a client that went away is noticed (and the
     * work cancelled, a strategy's whole tree with it); answers for a worker that overran its deadline.
     */
    private void watch(Future<?> job, RequestContext ctx, Reply reply, AtomicBoolean started) {
        long beat = config.heartbeatMs();
        while (true) {
            long wait = beat > 0 ? beat : 1000;
            if (ctx.deadlineNanos() != Long.MAX_VALUE) {
                wait = Math.max(1, Math.min(wait, ctx.remainingMs() + DEADLINE_GRACE_MS));
            }
            try {
                job.get(wait, TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                if (ctx.deadlineNanos() != Long.MAX_VALUE && System.nanoTime() - ctx.deadlineNanos() > DEADLINE_GRACE_MS * 1_000_000) {
                    // the work did not stop at its deadline by itself (or never got a worker): stop it and answer
                    job.cancel(true);
                    fail(reply, started.get()
                            ? new ApiException(504, "timeout", null, "deadline_exceeded", ctx.deadlineExceeded().getMessage())
                            : Admission.overloaded("the server is busy: no worker freed within the request deadline of " + ctx.deadlineMs() + " ms"));
                    reply.abandon();
                    return;
                }
                if (beat > 0 && !reply.heartbeat()) {
                    ctx.clientGone();
                    job.cancel(true);
                    reply.abandon();
                    return;
                }
            } catch (CancellationException | ExecutionException e) {
                return; // work() answers for itself; nothing escapes it but a cancellation
            } catch (InterruptedException e) {
                job.cancel(true);
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** On a worker: everything the request costs, and its answer. */
    private void work(byte[] body, boolean chat, boolean ui, RequestContext ctx, Reply reply) {
        try {
            if (ctx.pastDeadline()) {
                throw Admission.overloaded("the server is busy: no worker freed within the request deadline of " + ctx.deadlineMs() + " ms");
            }
            // the Content-Type is not checked: curl -d sends form-urlencoded, and the body must parse as JSON anyway
            JsonNode json = Json.parseBody(body);
            CompletionRequest r = parser.parse(json, chat, ctx);
            if (ui) {
                playground.run(r, ctx, reply);
                return;
            }
            reply.kind(r.stream());
            if (r.stream()) {
                completions.stream(r, ctx, ev -> reply.event(Json.MAPPER.writeValueAsString(ev)));
                reply.done();
            } else {
                ObjectNode out = completions.run(r, ctx);
                reply.json(200, Json.MAPPER.writeValueAsBytes(out));
            }
        } catch (Throwable t) {
            ApiException e = ctx.isClientGone() ? null : toApi(t);
            if (e != null) {
                fail(reply, e);
            } else {
                reply.abandon(); // nobody left to answer
            }
        }
    }

    /** On a worker: a request to the pooling endpoints ({@link ScoreEndpoints}). */
    private void score(String path, byte[] body, RequestContext ctx, Reply reply) {
        try {
            if (ctx.pastDeadline()) {
                throw Admission.overloaded("the server is busy: no worker freed within the request deadline of " + ctx.deadlineMs() + " ms");
            }
            ObjectNode out = scores.handle(path, Json.parseBody(body), ctx);
            reply.json(200, Json.MAPPER.writeValueAsBytes(out));
        } catch (Throwable t) {
            ApiException e = ctx.isClientGone() ? null : toApi(t);
            if (e != null) {
                fail(reply, e);
            } else {
                reply.abandon();
            }
        }
    }

    /** What the client is told about a failure; null when it is gone. */
    static ApiException toApi(Throwable t) {
        return switch (t) {
            case ApiException e -> e;
            case RequestContext.Stopped s -> s.deadline ? new ApiException(504, "timeout", null, "deadline_exceeded", s.getMessage()) : null;
            case CompileBudget.Aborted a -> a.deadline
                    ? new ApiException(504, "timeout", null, "deadline_exceeded", "the request ran past its deadline while compiling its constraint")
                    : null;
            case MetagenException e when isKvExhausted(e) -> new ApiException(503, "server_overloaded", null, "kv_cache_exhausted",
                    "the server ran out of KV-cache memory for this request; retry later or ask for fewer or shorter choices ("
                            + e.getMessage() + ")");
            // the algorithms' own checks (a prompt too long for a strategy leaf, a spec limit ...): the request's fault
            case MetagenException e -> ApiException.invalid(null, e.getMessage());
            case OutOfMemoryError e -> new ApiException(503, "server_overloaded", null, "out_of_memory", "the server ran out of memory; retry later");
            default -> new ApiException(500, "server_error", null, null, "internal error: " + t);
        };
    }

    /** A failure of the engine's KV-cache memory (all blocks taken), anywhere in the cause chain. */
    static boolean isKvExhausted(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage();
            if (m != null && m.contains("KV cache memory exhausted") || c.getClass().getSimpleName().contains("KvCacheExhausted")) {
                return true;
            }
        }
        return false;
    }

    private void fail(Reply reply, ApiException e) {
        if (e.status() >= 500) {
            serverErrors.incrementAndGet();
        }
        reply.error(e);
    }

    private ObjectNode models() {
        ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list");
        ObjectNode m = o.putArray("data").addObject();
        m.put("id", modelId);
        m.put("object", "model");
        m.put("created", 0);
        m.put("owned_by", "metagen");
        m.put("max_model_len", model.info().contextLength());
        return o;
    }

    private void authorize(HttpExchange ex) {
        if (apiKey == null) {
            return;
        }
        String h = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = h == null ? new byte[0] : h.strip().getBytes(StandardCharsets.UTF_8);
        // constant time: how much of a guessed key matches must not show in the response time
        if (!MessageDigest.isEqual(given, apiKey)) {
            throw new ApiException(401, "invalid_request_error", null, "invalid_api_key", "missing or wrong API key (send Authorization: Bearer KEY)");
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiException(405, "invalid_request_error", null, "method_not_allowed", "use " + allowed + ", not " + method);
        }
    }

    private byte[] readBody(HttpExchange ex) throws IOException {
        String len = ex.getRequestHeaders().getFirst("Content-Length");
        if (len != null) {
            try {
                if (Long.parseLong(len.strip()) > config.maxBodyBytes()) {
                    throw tooLarge();
                }
            } catch (NumberFormatException e) {
                throw ApiException.invalid(null, "Content-Length is not a number: " + len);
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, config.maxBodyBytes() + 1));
            if (b.length > config.maxBodyBytes()) {
                throw tooLarge();
            }
            return b;
        }
    }

    private ApiException tooLarge() {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than the limit of " + config.maxBodyBytes() + " bytes");
    }

    static String errorJson(ApiException e) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param());
        }
        if (e.code() == null) {
            err.putNull("code");
        } else {
            err.put("code", e.code());
        }
        return o.toString();
    }

    private void sendJson(HttpExchange ex, int status, ObjectNode o) throws IOException {
        byte[] b = Json.MAPPER.writeValueAsBytes(o);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }
}
