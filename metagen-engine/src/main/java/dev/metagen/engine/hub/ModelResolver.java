package dev.metagen.engine.hub;

import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Resolves a model argument to a local GGUF path: a filesystem path as is, or a Hugging Face Hub reference
 * {@code hf:OWNER/REPO/[path/in/repo/]FILE.gguf} through the cache {@code $METAGEN_HOME/models/OWNER/REPO/...},
 * downloading {@code ENDPOINT/OWNER/REPO/resolve/main/PATH} (HF's file URL scheme) when missing and verifying
 * its sha256 (a built-in table of known files, else the LFS digest HF sends as {@code X-Linked-Etag}/{@code ETag}).
 */
public final class ModelResolver {

    /** The model used when none is given: Karpathy's stories260K, llama.cpp's CI test model. */
    public static final String DEFAULT_MODEL = "hf:ggml-org/tiny-llamas/stories260K.gguf";
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final String PREFIX = "hf:";

    /** sha256 of files whose content is known, so a download is verified even when the server sends no digest. */
    private static final Map<String, String> KNOWN_SHA256 = Map.of(
            "hf:ggml-org/tiny-llamas/stories260K.gguf", "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");

    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** A parsed {@code hf:} reference; {@code file} is the path inside the repository, '/'-separated. */
    public record HubFile(String owner, String repo, String file) {
        public String reference() {
            return PREFIX + owner + "/" + repo + "/" + file;
        }
    }

    private final Path home;
    private final String endpoint;
    private final HttpClient http;
    private final Duration stallTimeout;

    /** @param home the metagen home ({@code ~/.metagen}); @param endpoint the hub base URL, e.g. {@value #DEFAULT_ENDPOINT} */
    public ModelResolver(Path home, String endpoint) {
        this(home, endpoint, Duration.ofSeconds(60));
    }

    /** @param stallTimeout a download that receives no byte for this long is abandoned (the HTTP client alone would wait forever) */
    public ModelResolver(Path home, String endpoint, Duration stallTimeout) {
        this.home = home;
        this.stallTimeout = stallTimeout;
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL) // HF answers with a redirect to its CDN
                .connectTimeout(Duration.ofSeconds(20))
                .build();
    }

    /**
     * The resolver configured by {@code -Dmetagen.home} or {@code METAGEN_HOME} (default {@code ~/.metagen}) and
     * {@code -Dmetagen.hf.endpoint} or {@code METAGEN_HF_ENDPOINT}; a system property wins over the variable.
     */
    public static ModelResolver fromEnvironment() {
        String h = setting("metagen.home", "METAGEN_HOME");
        Path home = h != null ? Path.of(h) : Path.of(System.getProperty("user.home"), ".metagen");
        String e = setting("metagen.hf.endpoint", "METAGEN_HF_ENDPOINT");
        return new ModelResolver(home, e != null ? e : DEFAULT_ENDPOINT);
    }

    private static String setting(String property, String variable) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            v = System.getenv(variable);
        }
        return v != null && !v.isBlank() ? v : null;
    }

    public Path home() {
        return home;
    }

    public static boolean isHubReference(String model) {
        return model.startsWith(PREFIX);
    }

    /** Parses {@code hf:OWNER/REPO/path/FILE.gguf}; rejects empty, '.', '..' and odd segments. */
    public static HubFile parse(String reference) {
        if (!isHubReference(reference)) {
            throw new MetagenException("not a hub reference (expected hf:OWNER/REPO/FILE.gguf): " + reference);
        }
        String[] parts = reference.substring(PREFIX.length()).split("/", -1);
        if (parts.length < 3) {
            throw new MetagenException("bad model reference " + reference + ": expected hf:OWNER/REPO/FILE.gguf");
        }
        for (String p : parts) {
            if (!SEGMENT.matcher(p).matches() || p.equals("..")) {
                throw new MetagenException("bad model reference " + reference + ": path segment \"" + p
                        + "\" is not a plain name (letters, digits, '.', '_', '-')");
            }
        }
        String file = String.join("/", java.util.Arrays.copyOfRange(parts, 2, parts.length));
        if (!file.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
            throw new MetagenException("bad model reference " + reference + ": it must name a .gguf file");
        }
        return new HubFile(parts[0], parts[1], file);
    }

    /** Where {@code ref} lives in the cache: {@code HOME/models/OWNER/REPO/path/in/repo/FILE.gguf}. */
    public Path cachePath(HubFile ref) {
        Path p = home.resolve("models").resolve(ref.owner()).resolve(ref.repo());
        for (String s : ref.file().split("/")) {
            p = p.resolve(s);
        }
        return p;
    }

    /** The download URL of {@code ref}. */
    public String url(HubFile ref) {
        return endpoint + "/" + ref.owner() + "/" + ref.repo() + "/resolve/main/" + ref.file();
    }

    public Path resolve(String model) {
        return resolve(model, DownloadListener.NONE);
    }

    /** A local path for {@code model}: a path as is, or a hub reference from the cache, downloaded when missing. */
    public Path resolve(String model, DownloadListener listener) {
        if (!isHubReference(model)) {
            return Path.of(model);
        }
        HubFile ref = parse(model);
        Path target = cachePath(ref);
        if (Files.isRegularFile(target)) {
            return target;
        }
        download(ref, target, listener);
        return target;
    }

    private void download(HubFile ref, Path target, DownloadListener listener) {
        String url = url(ref);
        Path part = null;
        try {
            Files.createDirectories(target.getParent());
            HttpRequest req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(30)).GET().build();
            HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = resp.body()) {
                if (resp.statusCode() != 200) {
                    throw new MetagenException("cannot download " + url + ": HTTP " + resp.statusCode()
                            + (resp.statusCode() == 404 ? " (no such file in that repository)" : "")
                            + (resp.statusCode() == 401 || resp.statusCode() == 403 ? " (the repository is gated or private)" : ""));
                }
                long total = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
                String expected = KNOWN_SHA256.get(ref.reference());
                if (expected == null) {
                    expected = linkedSha256(resp).orElse(null);
                }
                part = Files.createTempFile(target.getParent(), target.getFileName().toString() + ".", ".part");
                listener.onStart(total);
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long n = 0;
                AtomicLong lastByte = new AtomicLong(System.nanoTime());
                AtomicBoolean stalled = new AtomicBoolean();
                Thread watchdog = Thread.ofVirtual().start(() -> closeWhenStalled(in, lastByte, stalled));
                try (OutputStream out = Files.newOutputStream(part)) {
                    byte[] buf = new byte[1 << 16];
                    for (int r; (r = in.read(buf)) >= 0; ) {
                        lastByte.set(System.nanoTime());
                        out.write(buf, 0, r);
                        sha.update(buf, 0, r);
                        n += r;
                        listener.onProgress(n);
                    }
                } catch (IOException e) {
                    if (!stalled.get()) {
                        throw e;
                    }
                } finally {
                    watchdog.interrupt();
                }
                if (stalled.get()) {
                    throw new MetagenException("download of " + url + " stalled: no data for " + stallTimeout.toSeconds()
                            + " s after " + n + " bytes");
                }
                if (total >= 0 && n != total) {
                    throw new MetagenException("download of " + url + " is incomplete: got " + n + " of " + total + " bytes");
                }
                String actual = HexFormat.of().formatHex(sha.digest());
                if (expected != null && !expected.equals(actual)) {
                    throw new MetagenException("download of " + url + " is corrupt: sha256 " + actual + ", expected " + expected);
                }
            }
            move(part, target);
            part = null;
            listener.onDone();
        } catch (HttpTimeoutException e) {
            throw new MetagenException("cannot download " + url + ": timed out");
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            throw new MetagenException("cannot download " + url + " to " + target + ": " + why.replace('\n', ' '), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetagenException("download of " + url + " was interrupted", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        } finally {
            if (part != null) {
                try {
                    Files.deleteIfExists(part);
                } catch (IOException ignored) {
                    // best effort: a stale .part file is harmless, the next download uses a fresh name
                }
            }
        }
    }

    /** Closing the body stream is the only way to wake a read that waits on a silent server. */
    private void closeWhenStalled(InputStream in, AtomicLong lastByte, AtomicBoolean stalled) {
        try {
            while (true) {
                Thread.sleep(Math.max(10, Math.min(1000, stallTimeout.toMillis() / 4)));
                if (System.nanoTime() - lastByte.get() > stallTimeout.toNanos()) {
                    stalled.set(true);
                    in.close();
                    return;
                }
            }
        } catch (InterruptedException | IOException e) {
            // the download finished (interrupt) or the stream is already closed
        }
    }

    /** Atomic where the file system allows it, so a reader never sees a half-written model. */
    private static void move(Path part, Path target) throws IOException {
        try {
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * The sha256 HF publishes for LFS files: {@code X-Linked-Etag} on the redirect to the CDN, or the {@code ETag}
     * itself (quoted, possibly weak). Git-blob ETags are sha1 (40 hex digits) and are not a content sha256.
     */
    static Optional<String> linkedSha256(HttpResponse<?> resp) {
        for (HttpResponse<?> r = resp; r != null; r = r.previousResponse().orElse(null)) {
            HttpHeaders h = r.headers();
            for (String name : new String[] {"X-Linked-Etag", "ETag"}) {
                Optional<String> v = h.firstValue(name).map(ModelResolver::unquoteEtag).filter(s -> SHA256.matcher(s).matches());
                if (v.isPresent()) {
                    return v;
                }
            }
        }
        return Optional.empty();
    }

    private static String unquoteEtag(String etag) {
        String s = etag.strip();
        if (s.startsWith("W/")) {
            s = s.substring(2);
        }
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
            s = s.substring(1, s.length() - 1);
        }
        return s.toLowerCase(Locale.ROOT);
    }
}
