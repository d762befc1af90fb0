package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.model.TransformerModel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible HTTP server over one local model: {@code GET /health}, {@code GET /v1/models},
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}, JSON or server-sent events.
 *
 * <p>Built on the JDK's {@code com.sun.net.httpserver} with one virtual thread per exchange rather than Javalin:
 * generation is blocking code (the engine's forward calls, sampler loops), which virtual threads run without
 * tying up platform threads, SSE is just a chunked response we flush per event, and no dependency (Jetty,
 * Kotlin, servlet API) enters the shaded CLI jar. What a framework would add (routing, body limits, auth) is a
 * few dozen lines here, tested by the fuzz and load tests.
 */
public final class OpenAiServer implements AutoCloseable {
    private final HttpServer http;
    private final ExecutorService executor;
    private final ServerConfig config;
    private final String modelId;
    private final LanguageModel model;
    private final RequestParser parser;
    private final Completions completions;
    private final Admission admission;
    private final byte[] apiKey;
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong serverErrors = new AtomicLong();

    private OpenAiServer(LanguageModel model, String modelId, ChatFormatter chat, ServerConfig config) throws IOException {
        this.config = config;
        this.modelId = modelId;
        this.model = model;
        this.parser = new RequestParser(model, config, chat);
        this.completions = new Completions(model, modelId);
        this.admission = new Admission(config.maxConcurrent(), config.queue());
        this.apiKey = config.apiKey() == null ? null : ("Bearer " + config.apiKey()).getBytes(StandardCharsets.UTF_8);
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 256);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        http.setExecutor(executor);
        http.createContext("/", this::handle);
    }

    /**
     * Starts serving {@code model} under the name {@code modelId} (null: the file name without {@code .gguf});
     * chat requests are rendered with the model's own chat template, or a plain transcript when it has none.
     */
    public static OpenAiServer start(TransformerModel model, String modelId, ServerConfig config) {
        String id = modelId != null ? modelId : model.file().path().getFileName().toString().replaceFirst("\\.gguf$", "");
        return start(model, id, new ChatFormatter(ChatTemplate.forModel(model), model.tokenizer()), config);
    }

    /** Starts serving {@code model}; chat requests are rendered by {@code chat}. */
    static OpenAiServer start(LanguageModel model, String modelId, ChatFormatter chat, ServerConfig config) {
        try {
            OpenAiServer s = new OpenAiServer(model, modelId, chat, config);
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
        executor.shutdownNow();
    }

    private void handle(HttpExchange ex) {
        try (ex) {
            served.incrementAndGet();
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            try {
                if (path.equals("/health")) {
                    requireMethod(method, "GET");
                    ObjectNode o = Json.MAPPER.createObjectNode().put("status", "ok").put("model", modelId);
                    o.put("waiting", admission.waiting());
                    sendJson(ex, 200, o);
                    return;
                }
                authorize(ex);
                switch (path) {
                    case "/v1/models" -> {
                        requireMethod(method, "GET");
                        sendJson(ex, 200, models());
                    }
                    case "/v1/completions" -> {
                        requireMethod(method, "POST");
                        complete(ex, false);
                    }
                    case "/v1/chat/completions" -> {
                        requireMethod(method, "POST");
                        complete(ex, true);
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
                sendError(ex, e);
            } catch (RequestContext.Stopped e) {
                if (e.deadline) {
                    sendError(ex, new ApiException(504, "timeout", null, "deadline_exceeded", MetagenException.describe(e)));
                }
                // a client that went away gets nothing more
            } catch (MetagenException e) {
                // the algorithms' own checks (a prompt too long for a strategy leaf, a spec limit ...): the request's fault
                sendError(ex, ApiException.invalid(null, MetagenException.describe(e)));
            } catch (RuntimeException | StackOverflowError e) {
                sendError(ex, new ApiException(500, "server_error", null, null, "internal error: " + e));
            }
        } catch (IOException ignored) {
            // the client went away while we answered
        }
    }

    private void complete(HttpExchange ex, boolean chat) throws IOException {
        // the Content-Type is not checked: curl -d sends form-urlencoded, and the body must parse as JSON anyway
        JsonNode body = Json.parseBody(readBody(ex));
        CompletionRequest r = parser.parse(body, chat);
        RequestContext ctx = new RequestContext(config.deadlineMs());
        admission.enter(config.deadlineMs());
        try {
            if (r.stream()) {
                stream(ex, r, ctx);
            } else {
                ObjectNode out = completions.run(r, ctx);
                sendJson(ex, 200, out);
            }
        } finally {
            admission.leave();
        }
    }

    private void stream(HttpExchange ex, CompletionRequest r, RequestContext ctx) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        boolean[] started = {false};
        OutputStream os = ex.getResponseBody();
        Completions.EventSink sink = ev -> {
            if (!started[0]) {
                ex.sendResponseHeaders(200, 0);
                started[0] = true;
            }
            os.write(("data: " + Json.MAPPER.writeValueAsString(ev) + "\n\n").getBytes(StandardCharsets.UTF_8));
            os.flush();
        };
        try {
            completions.stream(r, ctx, sink);
        } catch (RequestContext.Stopped e) {
            if (!started[0] || !e.deadline) {
                throw e;
            }
            // headers already went out: report the deadline in the stream, as OpenAI does for mid-stream errors
            writeQuietly(os, "data: " + errorJson(new ApiException(504, "timeout", null, "deadline_exceeded", MetagenException.describe(e))) + "\n\n");
            writeQuietly(os, "data: [DONE]\n\n");
            return;
        } catch (ApiException | MetagenException e) {
            if (!started[0]) {
                throw e;
            }
            ApiException a = e instanceof ApiException x ? x : ApiException.invalid(null, MetagenException.describe(e));
            writeQuietly(os, "data: " + errorJson(a) + "\n\n");
            writeQuietly(os, "data: [DONE]\n\n");
            return;
        }
        if (!started[0]) {
            ex.sendResponseHeaders(200, 0);
        }
        os.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    private static void writeQuietly(OutputStream os, String s) {
        try {
            os.write(s.getBytes(StandardCharsets.UTF_8));
            os.flush();
        } catch (IOException ignored) {
            // client gone
        }
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

    private void sendError(HttpExchange ex, ApiException e) throws IOException {
        if (e.status() >= 500) {
            serverErrors.incrementAndGet();
        }
        if (e.status() == 503) {
            ex.getResponseHeaders().set("Retry-After", "1");
        }
        byte[] b = errorJson(e).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        try {
            ex.sendResponseHeaders(e.status(), b.length);
            ex.getResponseBody().write(b);
        } catch (IOException | IllegalStateException ignored) {
            // headers already sent (a stream): nothing more can be said
        }
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
