package dev.metagen.engine.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.metagen.core.MetagenException;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code hf:OWNER/REPO}: a whole Hugging Face model repository fetched into the cache, against a local server laid out
 * like huggingface.co ({@code /api/models/OWNER/REPO/tree/main} listing, {@code /OWNER/REPO/resolve/main/FILE}, LFS
 * files redirected to a CDN with their sha256 as {@code X-Linked-Etag}).
 */
class RepositoryDownloadTest {
    private static final String REPO = "raincandy-u/TinyStories-656K";

    @TempDir
    Path home;

    private HttpServer server;
    private String endpoint;
    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final Map<String, byte[]> served = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        try (Stream<Path> s = Files.list(SharedData.model("tinystories-656k"))) {
            for (Path p : s.sorted().toList()) {
                files.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        files.put("README.md", "# TinyStories-656K\n".getBytes(StandardCharsets.UTF_8));
        files.put(".gitattributes", "*.safetensors filter=lfs\n".getBytes(StandardCharsets.UTF_8));
        served.putAll(files);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
        endpoint = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        hits.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
        String resolve = "/" + REPO + "/resolve/main/";
        if (path.equals("/api/models/" + REPO + "/tree/main")) {
            send(ex, 200, listing());
        } else if (path.equals("/api/models/nobody/weights-only/tree/main")) {
            send(ex, 200, "[{\"type\":\"file\",\"path\":\"model.safetensors\",\"size\":3}]".getBytes(StandardCharsets.UTF_8));
        } else if (path.startsWith(resolve) && files.containsKey(path.substring(resolve.length()))) {
            String name = path.substring(resolve.length());
            if (name.endsWith(".safetensors")) {
                ex.getResponseHeaders().add("Location", "/cdn/" + name);
                ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha256(files.get(name)) + "\"");
                ex.sendResponseHeaders(302, -1);
                ex.close();
            } else {
                send(ex, 200, served.get(name));
            }
        } else if (path.startsWith("/cdn/")) {
            send(ex, 200, served.get(path.substring(5)));
        } else {
            send(ex, 404, "Repository not found".getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The Hub's tree listing: size for every file, the LFS sha256 for the weights. */
    private byte[] listing() {
        ObjectMapper json = new ObjectMapper();
        ArrayNode a = json.createArrayNode();
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            ObjectNode f = a.addObject();
            f.put("type", "file").put("oid", "0123456789abcdef0123456789abcdef01234567").put("size", e.getValue().length)
                    .put("path", e.getKey());
            if (e.getKey().endsWith(".safetensors")) {
                f.putObject("lfs").put("oid", sha256(e.getValue())).put("size", e.getValue().length).put("pointerSize", 134);
            }
        }
        a.addObject().put("type", "directory").put("path", "onnx").put("size", 0);
        return a.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void downloadsTheModelFilesVerifiesThemAndRunsTheModel() throws IOException {
        ModelResolver r = new ModelResolver(home, endpoint);
        List<String> events = new ArrayList<>();
        DownloadListener listener = new DownloadListener() {
            @Override
            public void onStart(long totalBytes) {
                events.add("start " + totalBytes);
            }

            @Override
            public void onProgress(long bytesSoFar) {
            }

            @Override
            public void onDone() {
                events.add("done");
            }
        };
        Path dir = r.resolve("hf:" + REPO, listener);
        assertEquals(home.resolve("models/raincandy-u/TinyStories-656K"), dir);
        for (String f : List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "model.safetensors")) {
            assertArrayEquals(files.get(f), Files.readAllBytes(dir.resolve(f)), f);
            String rec = Files.readString(dir.resolve(f + ".sha256")).strip();
            assertEquals(sha256(files.get(f)) + " " + files.get(f).length, rec, "record of " + f);
        }
        assertFalse(Files.exists(dir.resolve("README.md")), "only the files a model needs");
        assertNull(hits.get("/" + REPO + "/resolve/main/README.md"));
        assertEquals(6, events.stream().filter(e -> e.equals("done")).count(), events.toString());
        assertTrue(events.contains("start " + files.get("model.safetensors").length), events.toString());

        try (TransformerModel m = TransformerModel.load(dir, new ModelOptions(1, 64))) {
            var state = m.newState();
            assertEquals(147, m.forward(state, 1).argmax(), "the first greedy token of TinyStories-656K ('Once')");
            state.close();
        }

        // cached: no request at all, even with the server gone
        server.stop(0);
        assertEquals(dir, r.resolve("hf:" + REPO));
        assertEquals(1, hits.get("/api/models/" + REPO + "/tree/main").get());
    }

    @Test
    void aDamagedCachedFileIsFetchedAgain() throws IOException {
        ModelResolver r = new ModelResolver(home, endpoint);
        Path dir = r.resolve("hf:" + REPO);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        assertEquals(dir, r.resolve("hf:" + REPO));
        assertArrayEquals(files.get("tokenizer_config.json"), Files.readAllBytes(dir.resolve("tokenizer_config.json")));
        assertEquals(2, hits.get("/" + REPO + "/resolve/main/tokenizer_config.json").get());
        assertEquals(1, hits.get("/cdn/model.safetensors").get(), "whole files are not fetched again");
    }

    @Test
    void corruptWeightsAreRefusedAndLeaveNothing() throws IOException {
        byte[] bad = files.get("model.safetensors").clone();
        bad[100_000] ^= 1;
        served.put("model.safetensors", bad);
        ModelResolver r = new ModelResolver(home, endpoint);
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve("hf:" + REPO));
        assertTrue(e.getMessage().contains("model.safetensors is corrupt: sha256 "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Path dir = home.resolve("models/raincandy-u/TinyStories-656K");
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".part")));
        }
        served.put("model.safetensors", files.get("model.safetensors"));
        assertEquals(dir, r.resolve("hf:" + REPO), "a later try completes the directory");
    }

    @Test
    void repositoriesThatAreNotModelsAreOneLineErrors() {
        ModelResolver r = new ModelResolver(home, endpoint);
        MetagenException missing = assertThrows(MetagenException.class, () -> r.resolve("hf:nobody/nothing"));
        assertEquals("cannot list hf:nobody/nothing (" + endpoint + "/api/models/nobody/nothing/tree/main): HTTP 404"
                + " (no such repository)", missing.getMessage());
        MetagenException noConfig = assertThrows(MetagenException.class, () -> r.resolve("hf:nobody/weights-only"));
        assertTrue(noConfig.getMessage().startsWith("hf:nobody/weights-only: the repository has no config.json"),
                noConfig.getMessage());
        MetagenException bad = assertThrows(MetagenException.class, () -> r.resolve("hf:nobody/.."));
        assertTrue(bad.getMessage().contains("is not a plain name"), bad.getMessage());
    }
}
