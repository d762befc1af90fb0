package dev.metagen.server;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Test support: stories260K loaded once, servers on free ports, and small HTTP helpers. */
final class TestServer {
    static final ObjectMapper JSON = new ObjectMapper();
    private static TransformerModel stories;
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private TestServer() {
    }

    static synchronized TransformerModel stories() {
        if (stories == null) {
            stories = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 512));
        }
        return stories;
    }

    /** A server over {@code model} with the plain-transcript chat template (stories260K has none). */
    static OpenAiServer start(LanguageModel model, ServerConfig config) {
        return OpenAiServer.start(model, "stories260K", new ChatFormatter(ChatTemplate.fallback(), model.tokenizer()), config.withPort(0));
    }

    static ServerConfig config() {
        return ServerConfig.defaults().withPort(0);
    }

    record Response(int status, String body, java.net.http.HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    static Response post(OpenAiServer s, String path, String body) {
        return post(s, path, body.getBytes(StandardCharsets.UTF_8), null);
    }

    static Response post(OpenAiServer s, String path, byte[] body, String auth) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
            if (auth != null) {
                b.header("Authorization", auth);
            }
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Response get(OpenAiServer s, String path, String auth) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).GET();
            if (auth != null) {
                b.header("Authorization", auth);
            }
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The {@code data:} payloads of an event stream, up to and including {@code [DONE]}. */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new java.io.StringReader(body))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    out.add(line.substring(6));
                }
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    static BufferedReader reader(java.io.InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    /** A model that counts its open sequence states, to see that the server frees every one (KV blocks included). */
    static class CountingModel implements LanguageModel {
        final LanguageModel inner;
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger created = new AtomicInteger();
        final AtomicInteger forwards = new AtomicInteger();
        final long sleepMs;

        CountingModel(LanguageModel inner) {
            this(inner, 0);
        }

        /** {@code sleepMs} per forward makes generation slow enough to disconnect or time out in the middle. */
        CountingModel(LanguageModel inner, long sleepMs) {
            this.inner = inner;
            this.sleepMs = sleepMs;
        }

        final class State implements ModelState {
            final ModelState s;
            boolean closed;

            State(ModelState s) {
                this.s = s;
                open.incrementAndGet();
                created.incrementAndGet();
            }

            @Override
            public int length() {
                return s.length();
            }

            @Override
            public int[] tokens() {
                return s.tokens();
            }

            @Override
            public ModelState fork() {
                return new State(s.fork());
            }

            @Override
            public void truncate(int length) {
                s.truncate(length);
            }

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    open.decrementAndGet();
                    s.close();
                }
            }
        }

        @Override
        public Tokenizer tokenizer() {
            return inner.tokenizer();
        }

        @Override
        public ModelInfo info() {
            return inner.info();
        }

        @Override
        public ModelState newState() {
            return new State(inner.newState());
        }

        @Override
        public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
            forwards.incrementAndGet();
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return inner.forward(states.stream().map(x -> ((State) x).s).toList(), tokens);
        }

        @Override
        public void close() {
        }
    }
}
