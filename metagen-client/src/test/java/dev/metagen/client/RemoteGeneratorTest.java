package dev.metagen.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.client.StubServer.Reply;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import static dev.metagen.client.StubServer.fixture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The remote generator against recorded vLLM and llama.cpp answers served by a stub: formats, retries, balancing, cancellation. */
class RemoteGeneratorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final GenerationParams PARAMS = new GenerationParams(16, 0.7, 40, 0.9, 123, true, List.of("\n\n"));

    private static RemoteGenerator.Builder fast(String url) {
        return RemoteGenerator.builder().endpoint(url).model("m").backoff(Duration.ofMillis(5), Duration.ofMillis(50))
                .failureCooldown(Duration.ofMillis(200));
    }

    @Test
    void vllmCompletionAndTheRequestItWasSent() throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion.json")));
             RemoteGenerator g = fast(stub.url() + "/v1/").build()) {
            Generation out = g.generate(Prompt.of("Once upon a time"), PARAMS);
            assertEquals(" there was a little girl named Lily.", out.text());
            assertEquals(FinishReason.STOP, out.finish());
            assertEquals("\n\n", out.trace().get("stop_reason"));
            assertEquals(5, out.cost().promptTokens());
            assertEquals(9, out.cost().generatedTokens());
            assertEquals(1, out.cost().modelCalls());
            assertEquals("/v1/completions", stub.paths.peek());
            JsonNode sent = JSON.readTree(stub.requests.peek());
            assertEquals("Once upon a time", sent.path("prompt").asText());
            assertEquals(16, sent.path("max_tokens").asInt());
            assertEquals(0.7, sent.path("temperature").asDouble(), 1e-9);
            assertEquals(40, sent.path("top_k").asInt());
            assertEquals(0.9, sent.path("top_p").asDouble(), 1e-9);
            assertEquals(123, sent.path("seed").asLong());
            assertEquals("\n\n", sent.path("stop").path(0).asText());
            assertEquals("m", sent.path("model").asText());
        }
    }

    @Test
    void vllmLogprobsAndTokenIdStopReasonInChat() throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion-logprobs.json")));
             RemoteGenerator g = fast(stub.url()).logprobs(true).build()) {
            Generation out = g.generate(Prompt.of("What"), PARAMS);
            assertEquals(" 42", out.text());
            assertEquals(FinishReason.LENGTH, out.finish());
            assertEquals(1, out.logprobs().length);
            assertEquals(-0.0312, out.logprobs()[0], 1e-12);
            assertEquals(1, JSON.readTree(stub.requests.peek()).path("logprobs").asInt());
        }
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-chat.json")));
             RemoteGenerator g = fast(stub.url()).chat(true).systemPrompt("Be brief.").build()) {
            Generation out = g.generate(Prompt.of("Capital of France?"), PARAMS);
            assertEquals("Paris is the capital of France.", out.text());
            assertEquals(128009, ((Number) out.trace().get("stop_reason")).intValue());
            assertEquals(42, out.cost().promptTokens());
            JsonNode sent = JSON.readTree(stub.requests.peek());
            assertEquals("/v1/chat/completions", stub.paths.peek());
            assertEquals("system", sent.path("messages").path(0).path("role").asText());
            assertEquals("Capital of France?", sent.path("messages").path(1).path("content").asText());
        }
    }

    @Test
    void streamsWithUsageInTheLastChunkOrOnlyLlamaCppTimings() throws Exception {
        try (StubServer stub = new StubServer(Reply.sse(fixture("vllm-completion-stream.txt")));
             RemoteGenerator g = fast(stub.url()).stream(true).build()) {
            Generation out = g.generate(Prompt.of("Once upon a time"), PARAMS);
            assertEquals(" there was a", out.text());
            assertEquals(FinishReason.LENGTH, out.finish());
            assertEquals(5, out.cost().promptTokens());
            assertEquals(3, out.cost().generatedTokens());
            JsonNode sent = JSON.readTree(stub.requests.peek());
            assertTrue(sent.path("stream").asBoolean());
            assertTrue(sent.path("stream_options").path("include_usage").asBoolean());
        }
        try (StubServer stub = new StubServer(Reply.sse(fixture("llamacpp-chat-stream.txt")));
             RemoteGenerator g = fast(stub.url()).stream(true).chat(true).build()) {
            Generation out = g.generate(Prompt.of("Hi"), PARAMS);
            assertEquals("Hello there!", out.text()); // the first delta's content is null
            assertEquals(FinishReason.STOP, out.finish());
            assertEquals(14, out.cost().promptTokens()); // no usage: read from llama.cpp's timings
            assertEquals(3, out.cost().generatedTokens());
            assertTrue(out.trace().get("timings") instanceof Map<?, ?>);
        }
    }

    @Test
    void llamaCppCompletionKeepsItsTimings() throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("llamacpp-completion.json")));
             RemoteGenerator g = fast(stub.url()).build()) {
            Generation out = g.generate(Prompt.of("Once upon a time"), PARAMS);
            assertEquals(" in a small village, there lived a boy", out.text());
            assertEquals(FinishReason.LENGTH, out.finish());
            assertEquals(10, out.cost().generatedTokens());
            assertEquals(114.2, ((Number) ((Map<?, ?>) out.trace().get("timings")).get("predicted_per_second")).doubleValue(), 1e-9);
            assertEquals("b4916-1e2f3a4b", out.trace().get("system_fingerprint"));
        }
    }

    @Test
    void retriesOn503And429HonouringRetryAfterButNotOn400() throws Exception {
        try (StubServer stub = new StubServer(Reply.json(fixture("vllm-completion.json")),
                Reply.status(503, fixture("llamacpp-error-loading.json"), "0"),
                Reply.status(429, "{\"error\":{\"message\":\"rate limited\"}}", "0.05"));
             RemoteGenerator g = fast(stub.url()).build()) {
            Generation out = g.generate(Prompt.of("x"), PARAMS);
            assertEquals(3, out.trace().get("attempts"));
            assertEquals(3, stub.requests.size());
            assertEquals(" there was a little girl named Lily.", out.text());
        }
        try (StubServer stub = new StubServer(Reply.status(400, fixture("vllm-error-400.json"), null));
             RemoteGenerator g = fast(stub.url()).build()) {
            MetagenException e = assertThrows(MetagenException.class, () -> g.generate(Prompt.of("x"), PARAMS));
            assertTrue(e.getMessage().contains("maximum context length is 8192"), e.getMessage());
            assertEquals(1, stub.requests.size());
        }
        try (StubServer stub = new StubServer(Reply.status(500, "oops", null));
             RemoteGenerator g = fast(stub.url()).maxRetries(2).build()) {
            MetagenException e = assertThrows(MetagenException.class, () -> g.generate(Prompt.of("x"), PARAMS));
            assertTrue(e.getMessage().contains("3 attempt"), e.getMessage());
            assertEquals(3, stub.requests.size());
        }
    }

    @Test
    void backoffGrowsAndRetryAfterReads() {
        try (RemoteGenerator g = RemoteGenerator.builder().endpoint("http://127.0.0.1:1").backoff(Duration.ofMillis(100), Duration.ofSeconds(1)).build()) {
            assertTrue(g.backoff(1, -1) <= 100 && g.backoff(1, -1) >= 50);
            assertTrue(g.backoff(3, -1) <= 400 && g.backoff(3, -1) >= 200);
            long capped = g.backoff(10, -1);
            assertTrue(capped >= 500 && capped <= 1000, "capped at the maximum, with jitter: " + capped);
            assertEquals(700, g.backoff(1, 700));
            assertEquals(1000, g.backoff(1, 5000)); // capped
        }
        assertEquals(2000, RemoteGenerator.retryAfter("2"));
        assertEquals(-1, RemoteGenerator.retryAfter("soon"));
        assertTrue(RemoteGenerator.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == 0);
    }

    @Test
    void roundRobinAndSkippingADeadEndpoint() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort(); // closed again: connections are refused
        }
        try (StubServer a = new StubServer(Reply.json(fixture("vllm-completion.json")));
             StubServer b = new StubServer(Reply.json(fixture("llamacpp-completion.json")));
             RemoteGenerator rr = fast(a.url()).endpoint(b.url()).balancing(RemoteGenerator.Balancing.ROUND_ROBIN).build()) {
            for (int i = 0; i < 10; i++) {
                rr.generate(Prompt.of("x"), PARAMS);
            }
            assertEquals(List.of(5L, 5L), rr.callsPerEndpoint());
            try (RemoteGenerator withDead = fast("http://127.0.0.1:" + deadPort).endpoint(a.url())
                    .failureCooldown(Duration.ofSeconds(30)).build()) {
                for (int i = 0; i < 6; i++) {
                    Generation out = withDead.generate(Prompt.of("x"), PARAMS);
                    assertEquals(" there was a little girl named Lily.", out.text());
                }
                // the dead server was tried once, then skipped during its cooldown
                assertEquals(1L, withDead.callsPerEndpoint().getFirst());
                assertEquals(6L, withDead.callsPerEndpoint().get(1));
            }
        }
    }

    @Test
    void concurrencyIsBoundedAndLeastOutstandingSpreadsLoad() throws Exception {
        var active = new java.util.concurrent.atomic.AtomicInteger();
        var maxActive = new java.util.concurrent.atomic.AtomicInteger();
        try (StubServer a = new StubServer(active, maxActive, Reply.json(fixture("vllm-completion.json")).delayed(100));
             StubServer b = new StubServer(active, maxActive, Reply.json(fixture("vllm-completion.json")).delayed(100));
             RemoteGenerator g = fast(a.url()).endpoint(b.url()).maxConcurrent(4).build();
             ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Generation>> fs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                fs.add(ex.submit(() -> g.generate(Prompt.of("x"), PARAMS)));
            }
            for (Future<Generation> f : fs) {
                assertEquals(9, f.get().cost().generatedTokens());
            }
            assertTrue(maxActive.get() <= 4, "at most 4 in flight over both servers, saw " + maxActive.get());
            assertTrue(maxActive.get() >= 2, "requests did run concurrently, saw " + maxActive.get());
            assertEquals(16, g.callsPerEndpoint().get(0) + g.callsPerEndpoint().get(1));
            assertTrue(g.callsPerEndpoint().get(0) >= 4 && g.callsPerEndpoint().get(1) >= 4, g.callsPerEndpoint().toString());
        }
    }

    @Test
    void anInterruptCancelsTheCallAtOnceAndATimeoutFails() throws Exception {
        try (StubServer slow = new StubServer(Reply.json(fixture("vllm-completion.json")).delayed(5000));
             RemoteGenerator g = fast(slow.url()).build()) {
            AtomicReference<Generation> result = new AtomicReference<>();
            AtomicReference<Boolean> flag = new AtomicReference<>();
            Thread t = Thread.ofVirtual().start(() -> {
                result.set(g.generate(Prompt.of("x"), PARAMS));
                flag.set(Thread.currentThread().isInterrupted());
            });
            Thread.sleep(200);
            long t0 = System.nanoTime();
            t.interrupt();
            t.join(3000);
            assertFalse(t.isAlive());
            assertTrue((System.nanoTime() - t0) / 1e6 < 2000, "cancelled long before the 5 s answer");
            assertEquals(FinishReason.CANCELLED, result.get().finish());
            assertTrue(flag.get(), "the interrupt flag stays set for the caller");
        }
        try (StubServer slow = new StubServer(Reply.json(fixture("vllm-completion.json")).delayed(3000));
             RemoteGenerator g = fast(slow.url()).requestTimeout(Duration.ofMillis(200)).maxRetries(0).build()) {
            MetagenException e = assertThrows(MetagenException.class, () -> g.generate(Prompt.of("x"), PARAMS));
            assertTrue(e.getMessage().contains("no answer within 200 ms"), e.getMessage());
        }
    }

    @Test
    void badConfigurationIsAClearError() {
        assertThrows(MetagenException.class, () -> RemoteGenerator.builder().build());
        assertThrows(MetagenException.class, () -> RemoteGenerator.builder().endpoint("ftp://x"));
        assertThrows(MetagenException.class, () -> RemoteGenerator.builder().endpoint("not a url"));
        assertThrows(MetagenException.class, () -> RemoteGenerator.builder().maxConcurrent(0));
    }
}
