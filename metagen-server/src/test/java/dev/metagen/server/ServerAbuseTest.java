package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attacks of a hostile client, all at once against one server on 127.0.0.1 for a bounded time: 40 clients
 * sending megabyte prompts, 3 sending 137 KB JSON schemas and 2 sending small schemas that expand hugely, strategy
 * specs of absurd cost (n = 2^31-1, votes nested 25 deep, a chain doubling its text 34 times), and streaming
 * strategy clients that hang up. Meanwhile {@code /health} must answer within 1 s every time, small well-formed
 * requests must keep succeeding, every answer must be complete (JSON that parses, or a stream ending in [DONE]),
 * no status may be 5xx other than 503, and the heap must stay under a bound.
 */
class ServerAbuseTest {
    private static final long RUN_NANOS = 20_000_000_000L;
    private static final long HEAP_BOUND = 1536L << 20;

    /** A client of its own for each attacker and for the probe: one shared client's selector thread would be the bottleneck. */
    private static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private record Attack(String name, String path, byte[] body, Set<Integer> allowed) {
    }

    @Test
    void attacksTogetherNeitherStallNorBreakTheServer() throws Exception {
        ServerConfig config = TestServer.config().withLimits(4, 64, 30_000).withHeartbeat(200);
        try (OpenAiServer s = TestServer.start(TestServer.stories(), config);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            String hugePrompt = "{\"prompt\":\"" + "Once upon a time. ".repeat(55_000) + "\",\"max_tokens\":8}";
            String bigSchema = "{\"prompt\":\"Once\",\"max_tokens\":8,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":"
                    + ServerHardeningTest.wideSchema(5800) + "}}}";
            String wideSchema = "{\"prompt\":\"Once\",\"max_tokens\":8,\"json_schema\":" + ServerHardeningTest.wideSchema(2000) + "}";
            String nested = "{\"type\":\"sample\"}";
            for (int i = 0; i < 25; i++) {
                nested = "{\"type\":\"majority_vote\",\"inner\":" + nested + "}";
            }
            StringBuilder links = new StringBuilder("{\"kind\":\"template\",\"as\":\"t0\",\"template\":\"{prompt}{prompt}\"}");
            for (int i = 1; i < 34; i++) {
                links.append(",{\"kind\":\"template\",\"as\":\"t").append(i).append("\",\"template\":\"{t").append(i - 1).append("}{t").append(i - 1).append("}\"}");
            }
            List<Attack> attacks = new java.util.ArrayList<>();
            for (int i = 0; i < 40; i++) {
                attacks.add(new Attack("1 MB prompt", "/v1/completions", bytes(hugePrompt), Set.of(400, 503)));
            }
            for (int i = 0; i < 3; i++) {
                attacks.add(new Attack("137 KB schema", "/v1/completions", bytes(bigSchema), Set.of(400, 503)));
            }
            for (int i = 0; i < 2; i++) {
                attacks.add(new Attack("wide schema", "/v1/completions", bytes(wideSchema), Set.of(400, 503, 504)));
            }
            attacks.add(new Attack("n = 2^31-1", "/v1/completions", bytes("{\"prompt\":\"Once\",\"max_tokens\":8,\"strategy\":{\"type\":\"best_of_n\","
                    + "\"n\":2147483647,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"logprob\"}}}"), Set.of(400, 503)));
            attacks.add(new Attack("votes nested 25 deep", "/v1/chat/completions", bytes("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                    + "\"max_tokens\":8,\"strategy\":" + nested + "}"), Set.of(400, 503)));
            attacks.add(new Attack("doubling chain", "/v1/completions", bytes("{\"prompt\":\"Once\",\"max_tokens\":8,\"strategy\":{\"type\":\"chain\",\"links\":["
                    + links + "]}}"), Set.of(400, 503)));

            long end = System.nanoTime() + RUN_NANOS;
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            AtomicInteger attacksSent = new AtomicInteger();
            AtomicInteger hangUps = new AtomicInteger();
            AtomicInteger smallOk = new AtomicInteger();
            AtomicInteger probes = new AtomicInteger();
            AtomicLong slowestProbeMs = new AtomicLong();
            AtomicLong slowestSmallMs = new AtomicLong();
            AtomicLong peakHeap = new AtomicLong();
            List<java.util.concurrent.Future<?>> tasks = new java.util.ArrayList<>();

            for (Attack a : attacks) {
                tasks.add(pool.submit(() -> {
                    HttpClient client = client();
                    while (System.nanoTime() < end) {
                        HttpResponse<String> r = send(client, s, a.path(), a.body(), Duration.ofSeconds(60));
                        attacksSent.incrementAndGet();
                        if (!a.allowed().contains(r.statusCode())) {
                            problems.add(a.name() + ": status " + r.statusCode() + " " + abbreviate(r.body()));
                        } else {
                            complete(r, a.name(), problems);
                        }
                    }
                    return null;
                }));
            }
            for (int i = 0; i < 2; i++) {
                tasks.add(pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        hangUp(s);
                        hangUps.incrementAndGet();
                    }
                    return null;
                }));
            }
            tasks.add(pool.submit(() -> {
                // well-formed small requests, one after another, must keep succeeding
                HttpClient client = client();
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = send(client, s, "/v1/completions", bytes("{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"seed\":1}"), Duration.ofSeconds(60));
                    if (r.statusCode() != 200) {
                        problems.add("small request: status " + r.statusCode() + " " + abbreviate(r.body()));
                    } else {
                        complete(r, "small request", problems);
                        smallOk.incrementAndGet();
                        slowestSmallMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                    }
                    Thread.sleep(100);
                }
                return null;
            }));
            // the probe runs on a platform thread of its own, so that the clients' load cannot delay the probe itself
            Thread probe = Thread.ofPlatform().start(() -> {
                HttpClient client = client();
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/health"))
                                .timeout(Duration.ofSeconds(1)).GET().build(), HttpResponse.BodyHandlers.ofString());
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        slowestProbeMs.accumulateAndGet(ms, Math::max);
                        if (r.statusCode() != 200 || ms > 1000) {
                            problems.add("/health: status " + r.statusCode() + " after " + ms + " ms");
                        }
                        probes.incrementAndGet();
                        Thread.sleep(100);
                    } catch (Exception e) {
                        problems.add("/health did not answer within 1 s: " + e);
                    }
                }
            });
            // the heap that survives collection: used heap sampled between collections also counts garbage that the
            // collector has not needed to reclaim yet, which grows with the machine's speed, not with what is retained
            List<java.lang.management.MemoryPoolMXBean> pools = ManagementFactory.getMemoryPoolMXBeans().stream()
                    .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP && p.getCollectionUsage() != null)
                    .toList();
            while (System.nanoTime() < end) {
                long retained = 0;
                for (var heapPool : pools) {
                    retained += heapPool.getCollectionUsage().getUsed();
                }
                peakHeap.accumulateAndGet(retained, Math::max);
                Thread.sleep(50);
            }
            probe.join();
            for (var t : tasks) {
                t.get();
            }
            System.out.printf("abuse: %d attack requests, %d hang-ups, %d small requests ok (slowest %d ms), %d probes (slowest %d ms), peak heap %d MB%n",
                    attacksSent.get(), hangUps.get(), smallOk.get(), slowestSmallMs.get(), probes.get(), slowestProbeMs.get(), peakHeap.get() >> 20);
            assertTrue(problems.isEmpty(), problems.size() + " problems, first: " + problems.stream().limit(5).toList());
            assertTrue(probes.get() >= 10, "probes: " + probes.get());
            assertTrue(smallOk.get() >= 5, "small requests that succeeded: " + smallOk.get());
            assertTrue(peakHeap.get() < HEAP_BOUND, "peak heap " + (peakHeap.get() >> 20) + " MB");
            // after the storm: no 5xx other than the busy answers, and the server still answers at once
            assertEquals(200, TestServer.post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4}").status());
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static HttpResponse<String> send(HttpClient client, OpenAiServer s, String path, byte[] body, Duration timeout) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).timeout(timeout)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A complete answer: a JSON object (a completion or an error), or a stream that ends in [DONE]. */
    private static void complete(HttpResponse<String> r, String name, ConcurrentLinkedQueue<String> problems) {
        String body = r.body();
        if (r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
            List<String> ev = TestServer.events(body);
            if (ev.isEmpty() || !ev.getLast().equals("[DONE]")) {
                problems.add(name + ": a stream cut short: " + abbreviate(body));
            }
            return;
        }
        try {
            JsonNode j = TestServer.JSON.readTree(body);
            if (j == null || !(j.has("choices") || j.has("error"))) {
                problems.add(name + ": neither an answer nor an error: " + abbreviate(body));
            }
        } catch (Exception e) {
            problems.add(name + ": incomplete JSON: " + abbreviate(body));
        }
    }

    /** A streaming strategy request whose client goes away after the first line of the answer. */
    private static void hangUp(OpenAiServer s) throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"stream\":true,\"strategy\":{\"type\":\"best_of_n\",\"n\":4,"
                + "\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"logprob\"}}}";
        try (Socket sock = new Socket("127.0.0.1", s.port())) {
            sock.setSoTimeout(30_000);
            OutputStream out = sock.getOutputStream();
            byte[] b = bytes(body);
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            new BufferedReader(new InputStreamReader(sock.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
