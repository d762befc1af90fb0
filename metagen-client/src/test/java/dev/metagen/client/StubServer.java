package dev.metagen.client;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** A tiny HTTP server answering from a script of canned responses (recorded vLLM / llama.cpp bodies), recording requests. */
final class StubServer implements AutoCloseable {
    /** One canned answer; {@code delayMs} before it is sent. */
    record Reply(int status, String contentType, String body, String retryAfter, long delayMs) {
        static Reply json(String body) {
            return new Reply(200, "application/json", body, null, 0);
        }

        static Reply sse(String body) {
            return new Reply(200, "text/event-stream", body, null, 0);
        }

        static Reply status(int status, String body, String retryAfter) {
            return new Reply(status, "application/json", body, retryAfter, 0);
        }

        Reply delayed(long ms) {
            return new Reply(status, contentType, body, retryAfter, ms);
        }
    }

    private final HttpServer http;
    private final ConcurrentLinkedQueue<Reply> script = new ConcurrentLinkedQueue<>();
    private volatile Reply fallback;
    final ConcurrentLinkedQueue<String> requests = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> paths = new ConcurrentLinkedQueue<>();
    final AtomicInteger active;
    final AtomicInteger maxActive;
    final AtomicInteger aborted = new AtomicInteger();

    StubServer(Reply fallback, Reply... first) throws IOException {
        this(new AtomicInteger(), new AtomicInteger(), fallback, first);
    }

    /** With counters shared between stubs: requests being worked on (arrival until the answer is written). */
    StubServer(AtomicInteger active, AtomicInteger maxActive, Reply fallback, Reply... first) throws IOException {
        this.active = active;
        this.maxActive = maxActive;
        this.fallback = fallback;
        script.addAll(List.of(first));
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/", this::handle);
        http.start();
    }

    static String fixture(String name) {
        try (InputStream in = StubServer.class.getResourceAsStream("/remote/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new AssertionError("missing fixture " + name, e);
        }
    }

    String url() {
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        int now = active.incrementAndGet();
        maxActive.accumulateAndGet(now, Math::max);
        boolean counted = true;
        try (ex) {
            requests.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            paths.add(ex.getRequestURI().getPath());
            Reply r = script.poll();
            if (r == null) {
                r = fallback;
            }
            if (r.delayMs() > 0) {
                Thread.sleep(r.delayMs());
            }
            active.decrementAndGet(); // before the answer goes out: the client may send its next request at once
            counted = false;
            byte[] b = r.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", r.contentType());
            if (r.retryAfter() != null) {
                ex.getResponseHeaders().set("Retry-After", r.retryAfter());
            }
            ex.sendResponseHeaders(r.status(), b.length);
            ex.getResponseBody().write(b);
        } catch (InterruptedException | IOException e) {
            aborted.incrementAndGet();
        } finally {
            if (counted) {
                active.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
