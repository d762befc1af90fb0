package dev.metagen.engine.hub;

import dev.metagen.core.testing.SharedData;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** ModelResolver against a local HTTP server laid out like huggingface.co ({@code /OWNER/REPO/resolve/main/FILE}). */
class ModelResolverTest {

    private static final String STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

    @TempDir
    Path home;

    private HttpServer server;
    private String endpoint;
    private byte[] stories;
    private final ConcurrentHashMap<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        stories = Files.readAllBytes(SharedData.stories260k());
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
        switch (path) {
            case "/ggml-org/tiny-llamas/resolve/main/stories260K.gguf", "/cdn/stories260K.gguf" -> send(ex, 200, stories, stories.length);
            // like HF for LFS files: a redirect to the CDN that carries the sha256 as X-Linked-Etag
            case "/mirror/stories/resolve/main/nested/dir/model.gguf" -> {
                ex.getResponseHeaders().add("Location", "/cdn/stories260K.gguf");
                ex.getResponseHeaders().add("X-Linked-Etag", "\"" + STORIES_SHA256 + "\"");
                send(ex, 302, new byte[0], -1);
            }
            case "/mirror/stories/resolve/main/corrupt.gguf" -> {
                byte[] bad = stories.clone();
                bad[5000] ^= 1;
                ex.getResponseHeaders().add("ETag", "\"" + STORIES_SHA256 + "\"");
                send(ex, 200, bad, bad.length);
            }
            case "/mirror/stories/resolve/main/no-digest.gguf" -> {
                ex.getResponseHeaders().add("ETag", "\"0123456789abcdef0123456789abcdef01234567\""); // a git sha1, not a digest
                send(ex, 200, stories, stories.length);
            }
            case "/mirror/stories/resolve/main/stalled.gguf" -> {
                // promises the whole file, sends half, then goes silent with the connection open
                ex.sendResponseHeaders(200, stories.length);
                OutputStream os = ex.getResponseBody();
                os.write(stories, 0, stories.length / 2);
                os.flush();
            }
            default -> send(ex, 404, "Entry not found".getBytes(), -2);
        }
    }

    private static void send(HttpExchange ex, int status, byte[] body, long declared) throws IOException {
        ex.sendResponseHeaders(status, declared == -2 ? body.length : declared);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }

    @Test
    void downloadsVerifiesAndCachesTheDefaultModel() throws IOException {
        ModelResolver r = new ModelResolver(home, endpoint);
        RecordingListener listener = new RecordingListener();
        Path p = r.resolve(ModelResolver.DEFAULT_MODEL, listener);
        assertEquals(home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf"), p);
        assertArrayEquals(stories, Files.readAllBytes(p));
        assertEquals(sha256(Files.readAllBytes(p)), STORIES_SHA256);
        assertEquals(List.of("start " + stories.length, "done"), listener.events);
        assertEquals(stories.length, listener.last);
        assertTrue(listener.progressCalls > 0 && listener.monotonic);
        assertNoPartFiles();
        // second resolve: a cache hit, no request
        assertEquals(p, r.resolve(ModelResolver.DEFAULT_MODEL, listener));
        assertEquals(1, hits.get("/ggml-org/tiny-llamas/resolve/main/stories260K.gguf").get());
        assertEquals(List.of("start " + stories.length, "done"), listener.events);
    }

    @Test
    void followsRedirectsAndChecksTheLinkedEtag() throws IOException {
        ModelResolver r = new ModelResolver(home, endpoint + "/");
        Path p = r.resolve("hf:mirror/stories/nested/dir/model.gguf");
        assertEquals(home.resolve("models/mirror/stories/nested/dir/model.gguf"), p);
        assertArrayEquals(stories, Files.readAllBytes(p));
        assertEquals(1, hits.get("/cdn/stories260K.gguf").get());
    }

    @Test
    void checksumMismatchDeletesTheDownload() {
        ModelResolver r = new ModelResolver(home, endpoint);
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve("hf:mirror/stories/corrupt.gguf"));
        assertOneLine(e, "download of " + endpoint + "/mirror/stories/resolve/main/corrupt.gguf is corrupt: sha256 ");
        assertTrue(e.getMessage().endsWith("expected " + STORIES_SHA256), e.getMessage());
        assertFalse(Files.exists(home.resolve("models/mirror/stories/corrupt.gguf")));
        assertNoPartFiles();
    }

    @Test
    void knownFilesAreVerifiedEvenWithoutADigestFromTheServer() throws IOException {
        // a server that serves a corrupt stories260K under its well-known name, with no ETag at all
        server.removeContext("/");
        server.createContext("/", ex -> {
            byte[] bad = stories.clone();
            bad[100] ^= 1;
            send(ex, 200, bad, bad.length);
        });
        ModelResolver r = new ModelResolver(home, endpoint);
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve(ModelResolver.DEFAULT_MODEL));
        assertOneLine(e, "is corrupt: sha256");
        assertFalse(Files.exists(home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf")));
        assertNoPartFiles();
    }

    @Test
    void aSha1EtagIsNotMistakenForADigest() throws IOException {
        Path p = new ModelResolver(home, endpoint).resolve("hf:mirror/stories/no-digest.gguf");
        assertArrayEquals(stories, Files.readAllBytes(p));
    }

    @Test
    void truncatedBodyIsAnErrorAndLeavesNothing() throws Exception {
        // a raw server that announces the whole file, sends half of it and closes the connection
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Thread t = Thread.ofVirtual().start(() -> {
                try (Socket s = ss.accept()) {
                    BufferedReader req = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                    while (!req.readLine().isEmpty()) {
                        // skip the request headers
                    }
                    OutputStream os = s.getOutputStream();
                    os.write(("HTTP/1.1 200 OK\r\nContent-Length: " + stories.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    os.write(stories, 0, stories.length / 2);
                    os.flush();
                } catch (IOException ignored) {
                    // the test fails on the client side if this server misbehaves
                }
            });
            String base = "http://127.0.0.1:" + ss.getLocalPort();
            ModelResolver r = new ModelResolver(home, base);
            MetagenException e = assertThrows(MetagenException.class, () -> r.resolve("hf:mirror/stories/truncated.gguf"));
            assertOneLine(e, base + "/mirror/stories/resolve/main/truncated.gguf");
            t.join();
        }
        assertFalse(Files.exists(home.resolve("models/mirror/stories/truncated.gguf")));
        assertNoPartFiles();
    }

    @Test
    void aSilentServerIsAbandonedAfterTheStallTimeout() {
        ModelResolver r = new ModelResolver(home, endpoint, Duration.ofMillis(800));
        RecordingListener listener = new RecordingListener();
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve("hf:mirror/stories/stalled.gguf", listener));
        assertOneLine(e, "download of " + endpoint + "/mirror/stories/resolve/main/stalled.gguf stalled: no data for 0 s after ");
        assertEquals(List.of("start " + stories.length), listener.events, "no onDone for a failed download");
        assertFalse(Files.exists(home.resolve("models/mirror/stories/stalled.gguf")));
        assertNoPartFiles();
    }

    @Test
    void notFoundNamesTheUrl() {
        ModelResolver r = new ModelResolver(home, endpoint);
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve("hf:nobody/nothing/missing.gguf"));
        assertEquals("cannot download " + endpoint + "/nobody/nothing/resolve/main/missing.gguf: HTTP 404 (no such file in that repository)",
                e.getMessage());
        assertNoPartFiles();
    }

    @Test
    void noNetworkIsAOneLineErrorNamingTheUrl() throws IOException {
        // a port that was just free: nothing listens there
        int port;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        ModelResolver r = new ModelResolver(home, "http://127.0.0.1:" + port);
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve(ModelResolver.DEFAULT_MODEL));
        assertEquals("cannot download hf:ggml-org/tiny-llamas/stories260K.gguf (http://127.0.0.1:" + port
                + "/ggml-org/tiny-llamas/resolve/main/stories260K.gguf): no network (connection refused to 127.0.0.1:" + port + ")", e.getMessage());
        // a host name that does not resolve (.invalid is reserved for that)
        ModelResolver nowhere = new ModelResolver(home, "http://metagen-test.invalid");
        MetagenException u = assertThrows(MetagenException.class, () -> nowhere.resolve(ModelResolver.DEFAULT_MODEL));
        assertTrue(u.getMessage().endsWith("): no network (cannot resolve metagen-test.invalid)"), u.getMessage());
    }

    @Test
    void aDownloadWithNoLengthAndNoChecksumMustBeACompleteGguf() throws IOException {
        server.createContext("/mirror/stories/resolve/main/cut.gguf", ex -> {
            hits.computeIfAbsent("cut", k -> new AtomicInteger()).incrementAndGet();
            send(ex, 200, java.util.Arrays.copyOf(stories, stories.length / 2), 0); // chunked, ends cleanly: looks complete
        });
        server.createContext("/mirror/stories/resolve/main/whole.gguf", ex -> send(ex, 200, stories, 0));
        ModelResolver r = new ModelResolver(home, endpoint);
        MetagenException e = assertThrows(MetagenException.class, () -> r.resolve("hf:mirror/stories/cut.gguf"));
        assertOneLine(e, "download of " + endpoint + "/mirror/stories/resolve/main/cut.gguf is incomplete: the server sent no length and no checksum, and "
                + stories.length / 2 + " bytes are not a complete GGUF file: ");
        assertFalse(Files.exists(home.resolve("models/mirror/stories/cut.gguf")), "nothing is cached");
        assertThrows(MetagenException.class, () -> r.resolve("hf:mirror/stories/cut.gguf"));
        assertEquals(2, hits.get("cut").get(), "the failed download was not reused");
        assertNoPartFiles();
        Path whole = r.resolve("hf:mirror/stories/whole.gguf");
        assertArrayEquals(stories, Files.readAllBytes(whole));
        assertEquals(STORIES_SHA256 + " " + stories.length, Files.readString(ModelResolver.record(whole)).strip());
    }

    @Test
    void theCacheIsCheckedOnUseAndADamagedFileIsFetchedAgain() throws IOException {
        ModelResolver r = new ModelResolver(home, endpoint);
        Path p = r.resolve("hf:mirror/stories/no-digest.gguf");
        assertEquals(STORIES_SHA256 + " " + stories.length, Files.readString(ModelResolver.record(p)).strip());
        Files.write(p, java.util.Arrays.copyOf(stories, 1000)); // cut short after it was cached
        assertEquals(p, r.resolve("hf:mirror/stories/no-digest.gguf"));
        assertArrayEquals(stories, Files.readAllBytes(p));
        assertEquals(2, hits.get("/mirror/stories/resolve/main/no-digest.gguf").get());
        assertNoPartFiles();
    }

    @Test
    void aCachedFileWithoutARecordIsVerifiedBeforeItsFirstUse() throws IOException {
        Path cached = home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf");
        Files.createDirectories(cached.getParent());
        byte[] bad = stories.clone();
        bad[777] ^= 1;
        Files.write(cached, bad); // put there by hand or by an older version: no record
        ModelResolver r = new ModelResolver(home, endpoint);
        assertEquals(cached, r.resolve(ModelResolver.DEFAULT_MODEL));
        assertArrayEquals(stories, Files.readAllBytes(cached), "the corrupt copy was replaced by a verified download");
        assertEquals(1, hits.get("/ggml-org/tiny-llamas/resolve/main/stories260K.gguf").get());
        // a good copy without a record is accepted without a request, and recorded
        Files.delete(ModelResolver.record(cached));
        assertEquals(cached, r.resolve(ModelResolver.DEFAULT_MODEL));
        assertEquals(1, hits.get("/ggml-org/tiny-llamas/resolve/main/stories260K.gguf").get());
        assertEquals(STORIES_SHA256 + " " + stories.length, Files.readString(ModelResolver.record(cached)).strip());
    }

    @Test
    void aSeedDirectoryFillsTheCacheOrServesWhenTheCacheCannotBeWritten(@TempDir Path seeds) throws IOException {
        Files.write(seeds.resolve("stories260K.gguf"), stories);
        ModelResolver r = new ModelResolver(home, endpoint, Duration.ofSeconds(60), seeds);
        Path p = r.resolve(ModelResolver.DEFAULT_MODEL);
        assertEquals(home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf"), p);
        assertArrayEquals(stories, Files.readAllBytes(p));
        assertTrue(hits.isEmpty(), "no download");
        // a cache that cannot be written (here: METAGEN_HOME lies under a regular file): the verified seed is used in place
        Path blocker = home.resolve("not-a-dir");
        Files.writeString(blocker, "x");
        Path readOnlyHome = blocker.resolve("home");
        ModelResolver ro = new ModelResolver(readOnlyHome, endpoint, Duration.ofSeconds(60), seeds);
        assertEquals(seeds.resolve("stories260K.gguf"), ro.resolve(ModelResolver.DEFAULT_MODEL));
        assertTrue(hits.isEmpty(), "no download");
        // without a usable seed: a clear error naming the cache, not a stack trace
        MetagenException e = assertThrows(MetagenException.class, () -> new ModelResolver(readOnlyHome, endpoint).resolve(ModelResolver.DEFAULT_MODEL));
        assertOneLine(e, "cannot download hf:ggml-org/tiny-llamas/stories260K.gguf: the model cache " + readOnlyHome + " cannot be written (");
        assertTrue(e.getMessage().endsWith("); set METAGEN_HOME to a writable directory or pass --model PATH"), e.getMessage());
        // a seed whose content is not the known file is ignored
        Path other = seeds.resolve("wrong");
        Files.createDirectories(other);
        Files.write(other.resolve("stories260K.gguf"), java.util.Arrays.copyOf(stories, 4096));
        Path fresh = home.resolve("fresh");
        Path q = new ModelResolver(fresh, endpoint, Duration.ofSeconds(60), other).resolve(ModelResolver.DEFAULT_MODEL);
        assertArrayEquals(stories, Files.readAllBytes(q));
        assertEquals(1, hits.get("/ggml-org/tiny-llamas/resolve/main/stories260K.gguf").get(), "downloaded instead");
    }

    @Test
    void pathsPassThroughAndBadReferencesAreRejected() {
        ModelResolver r = new ModelResolver(home, endpoint);
        assertEquals(Path.of("some/dir/model.gguf"), r.resolve("some/dir/model.gguf"));
        assertEquals(new ModelResolver.HubFile("o", "r", "a/b.gguf"), ModelResolver.parse("hf:o/r/a/b.gguf"));
        // hf:OWNER/REPO names a whole repository (RepositoryDownloadTest)
        for (String bad : new String[] {"hf:", "hf:owner", "hf:o/", "hf:o/r/../x.gguf", "hf:o//x.gguf",
                "hf:o/r/x.bin", "hf:o/r/.hidden.gguf", "hf:o/r/x y.gguf", "hf:/r/x.gguf"}) {
            MetagenException e = assertThrows(MetagenException.class, () -> r.resolve(bad), bad);
            assertOneLine(e, bad);
        }
        assertTrue(hits.isEmpty(), "bad references make no request");
    }

    private void assertNoPartFiles() {
        if (!Files.exists(home)) {
            return;
        }
        try (Stream<Path> s = Files.walk(home)) {
            List<Path> parts = s.filter(p -> p.toString().endsWith(".part")).toList();
            assertTrue(parts.isEmpty(), "left behind: " + parts);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertOneLine(MetagenException e, String fragment) {
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), () -> "expected \"" + fragment + "\" in: " + e.getMessage());
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static final class RecordingListener implements DownloadListener {
        final List<String> events = new ArrayList<>();
        long last = -1;
        int progressCalls;
        boolean monotonic = true;

        @Override
        public void onStart(long totalBytes) {
            events.add("start " + totalBytes);
        }

        @Override
        public void onProgress(long bytesSoFar) {
            monotonic &= bytesSoFar >= last;
            last = bytesSoFar;
            progressCalls++;
        }

        @Override
        public void onDone() {
            events.add("done");
        }
    }
}
