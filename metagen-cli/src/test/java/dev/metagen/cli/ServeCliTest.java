package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code metagen serve}: bad options are usage errors; a real run answers a completion and stops cleanly. */
class ServeCliTest {
    @Test
    void badOptionsExitWithUsageErrors() {
        CliTest.Result r = CliTest.run("serve", "--port", "99999");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--port must be in [0, 65535]"), r.err());
        CliTest.Result q = CliTest.run("serve", "--queue", "-1");
        assertEquals(2, q.exit());
        CliTest.Result k = CliTest.run("serve", "--api-key", "");
        assertEquals(2, k.exit());
        assertTrue(k.err().contains("--api-key must not be empty"), k.err());
        CliTest.Result t = CliTest.run("serve", "--sandbox-timeout-ms", "60000");
        assertEquals(2, t.exit());
        assertTrue(t.err().contains("--sandbox-timeout-ms applies only with --allow-code-tools"), t.err());
        CliTest.Result m = CliTest.run("serve", "--allow-code-tools", "--sandbox-memory-mb", "8");
        assertEquals(2, m.exit());
        assertTrue(m.err().contains("--sandbox-memory-mb must be in [16, 1073741824], got 8"), m.err());
    }

    @Test
    void servesACompletionUntilStopped() throws Exception {
        Path stories = SharedData.stories260k();
        ServeCommand cmd = new ServeCommand();
        CommandLine cl = new CommandLine(cmd);
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        Thread t = Thread.ofVirtual().start(() -> cl.execute("--model", stories.toString(), "--port", "0", "--threads", "1", "--api-key", "k"));
        for (int i = 0; i < 400 && cmd.running == null; i++) {
            Thread.sleep(25);
        }
        assertTrue(cmd.running != null, err.toString());
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cmd.running.port() + "/v1/completions"))
                .header("Authorization", "Bearer k")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode o = Json.MAPPER.readTree(r.body());
        assertEquals("stories260K", o.path("model").asText());
        assertEquals(8, o.path("usage").path("completion_tokens").asInt());
        assertTrue(err.toString().contains("serving stories260K on http://127.0.0.1:"), err.toString());
        cmd.stop.countDown();
        t.join(5000);
        assertTrue(!t.isAlive());
    }
}
