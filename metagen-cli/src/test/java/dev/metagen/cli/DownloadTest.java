package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** {@code hf:} model arguments download into an empty METAGEN_HOME from a local server in the hub's URL layout. */
class DownloadTest {
    @TempDir
    Path home;
    HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
        System.clearProperty("metagen.home");
        System.clearProperty("metagen.hf.endpoint");
    }

    @Test
    void defaultModelIsDownloadedVerifiedAndThenServedFromTheCache() throws Exception {
        byte[] model = Files.readAllBytes(SharedData.stories260k());
        AtomicInteger requests = new AtomicInteger();
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ggml-org/tiny-llamas/resolve/main/stories260K.gguf", ex -> {
            requests.incrementAndGet();
            ex.sendResponseHeaders(200, model.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(model);
            }
        });
        server.start();
        System.setProperty("metagen.home", home.toString());
        System.setProperty("metagen.hf.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());

        CliTest.Result r = CliTest.run("generate", "--prompt", "Once upon a time", "-n", "8", "--temperature", "0");
        assertEquals(0, r.exit(), r.err());
        assertEquals(1, requests.get());
        assertTrue(Files.isRegularFile(home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf")));
        CliTest.Result again = CliTest.run("generate", "--prompt", "Once upon a time", "-n", "8", "--temperature", "0");
        assertEquals(r.out(), again.out());
        assertEquals(1, requests.get(), "the second run reads the cache");

        CliTest.Result missing = CliTest.run("inspect", "hf:ggml-org/tiny-llamas/absent.gguf");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("absent.gguf"), missing.err());
    }
}
