package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Disconnects, overload and deadlines: the server sheds or stops work and frees every sequence state. */
class ServerReliabilityTest {

    private static void awaitNoOpenStates(TestServer.CountingModel m) throws InterruptedException {
        for (int i = 0; i < 200 && m.open.get() > 0; i++) {
            Thread.sleep(25);
        }
        assertEquals(0, m.open.get(), "model states still open");
    }

    @Test
    void aClientThatDisconnectsMidStreamStopsItsGenerationAndFreesItsState() throws Exception {
        TestServer.CountingModel m = new TestServer.CountingModel(TestServer.stories(), 5);
        try (OpenAiServer s = TestServer.start(m, TestServer.config())) {
            String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":400,\"ignore_eos\":true,\"temperature\":0,\"stream\":true}";
            int before;
            try (Socket sock = new Socket("127.0.0.1", s.port())) {
                OutputStream out = sock.getOutputStream();
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(b);
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(sock.getInputStream(), StandardCharsets.UTF_8));
                int events = 0;
                String line;
                while (events < 5 && (line = in.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        events++;
                    }
                }
                assertEquals(5, events);
                assertEquals(1, m.open.get(), "the stream's state is live while it generates");
                before = m.forwards.get();
            }
            awaitNoOpenStates(m);
            int after = m.forwards.get();
            // 400 tokens at 5 ms each would take 2 s; the generation stopped within a few tokens of the disconnect
            assertTrue(after - before < 100, "forwards after the disconnect: " + (after - before));
            Thread.sleep(200);
            assertEquals(after, m.forwards.get(), "no forward after the state was freed");
            assertEquals(0, s.serverErrors());
        }
    }

    @Test
    void beyondTheQueueRequestsGet503WithRetryAfter() throws Exception {
        TestServer.CountingModel m = new TestServer.CountingModel(TestServer.stories(), 10);
        ServerConfig c = TestServer.config().withLimits(1, 1, 30_000);
        try (OpenAiServer s = TestServer.start(m, c); ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<TestServer.Response>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(ex.submit(() -> post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":80,\"ignore_eos\":true,\"temperature\":0}")));
            }
            int ok = 0;
            int busy = 0;
            for (Future<TestServer.Response> f : fs) {
                TestServer.Response r = f.get();
                if (r.status() == 200) {
                    ok++;
                } else {
                    assertEquals(503, r.status(), r.body());
                    assertEquals("1", r.headers().firstValue("Retry-After").orElse(null));
                    assertEquals("server_busy", r.json().path("error").path("code").asText());
                    busy++;
                }
            }
            assertTrue(ok >= 2, "one running and one queued succeed, got " + ok);
            assertTrue(busy >= 1, "the rest are refused, got " + busy);
            awaitNoOpenStates(m);
        }
    }

    @Test
    void aRequestPastItsDeadlineIs504AndFreesItsState() throws Exception {
        TestServer.CountingModel m = new TestServer.CountingModel(TestServer.stories(), 5);
        ServerConfig c = TestServer.config().withLimits(4, 4, 150);
        try (OpenAiServer s = TestServer.start(m, c)) {
            var r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":400,\"ignore_eos\":true,\"temperature\":0}");
            assertEquals(504, r.status(), r.body());
            JsonNode err = r.json().path("error");
            assertEquals("deadline_exceeded", err.path("code").asText());
            awaitNoOpenStates(m);
            // the stream variant ends with an error event and [DONE]
            var st = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":400,\"ignore_eos\":true,\"temperature\":0,\"stream\":true}");
            List<String> ev = TestServer.events(st.body());
            assertEquals("[DONE]", ev.getLast());
            assertTrue(ev.get(ev.size() - 2).contains("deadline_exceeded"), ev.get(ev.size() - 2));
            awaitNoOpenStates(m);
        }
    }

    @Test
    void nChoicesEachFreeTheirState() throws Exception {
        TestServer.CountingModel m = new TestServer.CountingModel(TestServer.stories());
        try (OpenAiServer s = TestServer.start(m, TestServer.config())) {
            var r = post(s, "/v1/completions", "{\"prompt\":[\"Once\",\"The dog\"],\"max_tokens\":8,\"n\":2,\"seed\":9}");
            assertEquals(200, r.status(), r.body());
            assertEquals(4, r.json().path("choices").size());
            assertEquals(4, m.created.get());
            awaitNoOpenStates(m);
        }
    }
}
