package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static dev.metagen.server.TestServer.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every error the server gives is a JSON object with a real message: no HTML page, no "null". */
class ServerErrorShapeTest {
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TestServer.stories(), TestServer.config());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Sends {@code request} as raw bytes and returns the whole response (status line, headers, body). */
    private static String raw(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return buf.toString(StandardCharsets.UTF_8);
        }
    }

    private static void assertJsonError(String response, String request) {
        assertFalse(response.isEmpty(), request + " -> no response");
        assertFalse(response.toLowerCase().contains("<h1>") || response.toLowerCase().contains("<html"), request + " -> " + response);
        int at = response.indexOf("\r\n\r\n");
        assertTrue(at > 0, request + " -> " + response);
        String head = response.substring(0, at).toLowerCase();
        assertTrue(head.contains("content-type: application/json"), request + " -> " + response);
        JsonNode body = TestServer.JSON.valueToTree(parse(response.substring(at + 4)));
        assertTrue(body.path("error").path("message").isTextual(), request + " -> " + response);
        assertFalse(body.path("error").path("message").asText().contains("null"), request + " -> " + response);
    }

    private static JsonNode parse(String s) {
        try {
            return TestServer.JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }

    @Test
    void routingAndMethodErrorsAreJson() throws IOException {
        for (String req : new String[] {
                "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "DELETE /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "FROB /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "GET http://127.0.0.1/v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\n{\"pro",
        }) {
            assertJsonError(raw(req), req);
        }
    }

    @Test
    void aRegexThatCannotBeCompiledNamesWhy() {
        // nested far deeper than the parser's stack allows: an operator who raised the byte limit on constraint text
        // still gets a 400 that says why (the default limit refuses this text by its size first)
        String deep = "(".repeat(200_000) + "a" + ")".repeat(200_000);
        try (OpenAiServer roomy = TestServer.start(TestServer.stories(), TestServer.config().withConstraintLimits(1 << 20,
                ServerConfig.DEFAULT_MAX_CONSTRAINT_WORK, ServerConfig.DEFAULT_MAX_CONSTRAINT_STATES))) {
            var r = post(roomy, "/v1/completions", "{\"prompt\":\"x\",\"regex\":\"" + deep + "\"}");
            assertEquals(400, r.status(), r.body());
            assertEquals("regex", r.json().path("error").path("param").asText());
            String m = r.json().path("error").path("message").asText();
            assertTrue((m.startsWith("invalid regex: ") || m.startsWith("regex: too complex")) && !m.contains("null"), m);
        }
        var bySize = post(server, "/v1/completions", "{\"prompt\":\"x\",\"regex\":\"" + deep + "\"}");
        assertEquals(400, bySize.status(), bySize.body());
        assertTrue(bySize.json().path("error").path("message").asText().contains("--max-constraint-bytes"), bySize.body());
        // a strategy spec's regex extractor runs on the linear-time engine: a backreference is refused, not run
        var chain = post(server, "/v1/completions", "{\"prompt\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\",\"strategy\":{\"type\":\"chain\",\"links\":["
                + "{\"kind\":\"generate\",\"as\":\"out\",\"generator\":{\"type\":\"greedy\",\"max_tokens\":2}},"
                + "{\"kind\":\"parse\",\"as\":\"answer\",\"from\":\"prompt\",\"extractor\":{\"type\":\"regex\",\"pattern\":\"^(a+)+\\\\1b\"}}]}}");
        assertEquals(400, chain.status(), chain.body());
        assertEquals("strategy", chain.json().path("error").path("param").asText());
        assertTrue(chain.json().path("error").path("message").asText()
                .endsWith("invalid regular expression: backreferences are not supported (linear-time engine)"), chain.body());
        var constrained = post(server, "/v1/completions", "{\"prompt\":\"x\",\"strategy\":{\"type\":\"constrained\",\"regex\":\"" + deep + "\"}}");
        assertEquals(400, constrained.status(), constrained.body());
        assertFalse(constrained.json().path("error").path("message").asText().contains("null"), constrained.body());
        assertEquals(0, server.serverErrors());
    }
}
