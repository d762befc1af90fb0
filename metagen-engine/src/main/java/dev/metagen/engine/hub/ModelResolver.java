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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Resolves a model argument to a local path: a filesystem path as is, {@code hf:OWNER/REPO} as a Hugging Face model
 * directory ({@link #resolveRepository}), or a Hugging Face Hub reference
 * {@code hf:OWNER/REPO/[path/in/repo/]FILE.gguf} through the cache {@code $METAGEN_HOME/models/OWNER/REPO/...},
 * downloading {@code ENDPOINT/OWNER/REPO/resolve/main/PATH} (HF's file URL scheme) when missing and verifying
 * its sha256 (a built-in table of known files, else the LFS digest HF sends as {@code X-Linked-Etag}/{@code ETag});
 * a download with neither a digest nor a length must at least be a complete GGUF file. A download goes to a
 * temporary file, moved into place only when it is complete and verified; its size and sha256 are recorded next to
 * it ({@code FILE.gguf.sha256}), the size checked on every use, and a cached file without that record is verified
 * (sha256 of a known file, else GGUF completeness) before its first use. A seed directory ({@code metagen.hf.seed})
 * may hold known files by name: they fill the cache after their sha256 is checked, or are used in place when the
 * cache cannot be written.
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
    private final Path seed;
    private final String endpoint;
    private final HttpClient http;
    private final Duration stallTimeout;

    /** @param home the metagen home ({@code ~/.metagen}); @param endpoint the hub base URL, e.g. {@value #DEFAULT_ENDPOINT} */
    public ModelResolver(Path home, String endpoint) {
        this(home, endpoint, Duration.ofSeconds(60));
    }

    /** @param stallTimeout a download that receives no byte for this long is abandoned (the HTTP client alone would wait forever) */
    public ModelResolver(Path home, String endpoint, Duration stallTimeout) {
        this(home, endpoint, stallTimeout, null);
    }

    /** @param seed a directory that may hold known files (by file name) to use instead of downloading them; null: none */
    public ModelResolver(Path home, String endpoint, Duration stallTimeout, Path seed) {
        this.home = home;
        this.seed = seed;
        this.stallTimeout = stallTimeout;
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL) // HF answers with a redirect to its CDN
                .connectTimeout(Duration.ofSeconds(20))
                .build();
    }

    /**
     * The resolver configured by {@code -Dmetagen.home} or {@code METAGEN_HOME} (default {@code ~/.metagen}) and
     * {@code -Dmetagen.hf.endpoint} or {@code METAGEN_HF_ENDPOINT}, and {@code -Dmetagen.hf.seed} or
     * {@code METAGEN_HF_SEED}; a system property wins over the variable.
     */
    public static ModelResolver fromEnvironment() {
        String h = setting("metagen.home", "METAGEN_HOME");
        Path home = h != null ? Path.of(h) : Path.of(System.getProperty("user.home"), ".metagen");
        String e = setting("metagen.hf.endpoint", "METAGEN_HF_ENDPOINT");
        String s = setting("metagen.hf.seed", "METAGEN_HF_SEED");
        return new ModelResolver(home, e != null ? e : DEFAULT_ENDPOINT, Duration.ofSeconds(60), s != null ? Path.of(s) : null);
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
            throw new MetagenException("bad model reference " + reference + ": expected hf:OWNER/REPO/FILE.gguf"
                    + " (a GGUF file) or hf:OWNER/REPO (a model repository)");
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

    /** Whether {@code model} names a whole repository, {@code hf:OWNER/REPO} (a Hugging Face model directory). */
    public static boolean isRepositoryReference(String model) {
        return isHubReference(model) && model.substring(PREFIX.length()).split("/", -1).length == 2;
    }

    /** The files of a repository that a model directory needs ({@link #isModelFile}), as the repository lists them. */
    record RepoFile(String path, long size, String sha256) {}

    /**
     * The files a Hugging Face model directory is read from: the configs, the tokenizer files, the chat template
     * and the safetensors weights with their index (the converter's {@code model*.safetensors}).
     */
    static boolean isModelFile(String path) {
        return switch (path) {
            case "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "chat_template.jinja", "chat_template.json",
                 "model.safetensors.index.json" -> true;
            default -> path.startsWith("model") && path.endsWith(".safetensors") && SEGMENT.matcher(path).matches();
        };
    }

    /** The manifest of a completely downloaded repository: one line "PATH SIZE" per file. */
    static final String MANIFEST = ".metagen-repository";

    /**
     * {@code hf:OWNER/REPO} as a local directory {@code HOME/models/OWNER/REPO}: the model files the repository lists
     * ({@code ENDPOINT/api/models/OWNER/REPO/tree/main}) downloaded into it with their sizes and LFS sha256 digests
     * checked and recorded; a directory whose manifest and records still match is used without the network.
     */
    public Path resolveRepository(String model, DownloadListener listener) {
        String[] parts = model.substring(PREFIX.length()).split("/", -1);
        for (String p : parts) {
            if (!SEGMENT.matcher(p).matches() || p.equals("..")) {
                throw new MetagenException("bad model reference " + model + ": path segment \"" + p
                        + "\" is not a plain name (letters, digits, '.', '_', '-')");
            }
        }
        Path dir = home.resolve("models").resolve(parts[0]).resolve(parts[1]);
        if (completeRepository(dir)) {
            return dir;
        }
        List<RepoFile> files = listRepository(model, parts[0], parts[1]);
        if (files.stream().noneMatch(f -> f.path().equals("config.json"))) {
            throw new MetagenException(model + ": the repository has no config.json (not a Hugging Face model"
                    + " repository; for a GGUF file name it: hf:OWNER/REPO/FILE.gguf)");
        }
        if (files.stream().noneMatch(f -> f.path().endsWith(".safetensors"))) {
            throw new MetagenException(model + ": the repository has no model*.safetensors weights");
        }
        StringBuilder manifest = new StringBuilder();
        for (RepoFile f : files) {
            HubFile ref = new HubFile(parts[0], parts[1], f.path());
            Path target = dir.resolve(f.path());
            if (!cachedWhole(target, f)) {
                download(ref, target, listener, f.sha256(), f.size(), false);
            }
            manifest.append(f.path()).append(' ').append(f.size()).append('\n');
        }
        try {
            Path tmp = Files.createTempFile(dir, MANIFEST + ".", ".part");
            Files.writeString(tmp, manifest.toString());
            move(tmp, dir.resolve(MANIFEST));
        } catch (IOException | UnsupportedOperationException e) {
            // without a manifest the next use lists the repository again
        }
        return dir;
    }

    /** Whether {@code dir} holds a manifest whose every file is there with the size and record it had. */
    private static boolean completeRepository(Path dir) {
        Path m = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(m)) {
            return false;
        }
        try {
            for (String line : Files.readAllLines(m)) {
                String[] f = line.strip().split(" ");
                if (f.length != 2 || !isModelFile(f[0]) || !cachedWhole(dir.resolve(f[0]), new RepoFile(f[0], Long.parseLong(f[1]), null))) {
                    return false;
                }
            }
            return true;
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    /** Whether {@code target} is cached with a record matching {@code f}'s size (and its sha256 when listed). */
    private static boolean cachedWhole(Path target, RepoFile f) {
        try {
            if (!Files.isRegularFile(target) || !Files.isRegularFile(record(target))) {
                return false;
            }
            String[] r = Files.readString(record(target)).strip().split("\\s+");
            long size = Files.size(target);
            return r.length == 2 && SHA256.matcher(r[0]).matches() && Long.parseLong(r[1]) == size
                    && (f.size() < 0 || f.size() == size) && (f.sha256() == null || f.sha256().equals(r[0]));
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    /** The repository's top-level model files from the Hub's tree listing. */
    private List<RepoFile> listRepository(String model, String owner, String repo) {
        String url = endpoint + "/api/models/" + owner + "/" + repo + "/tree/main";
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(2)).GET().build();
            HttpResponse<byte[]> resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            if (resp.statusCode() != 200) {
                throw new MetagenException("cannot list " + model + " (" + url + "): HTTP " + resp.statusCode()
                        + (resp.statusCode() == 404 ? " (no such repository)" : "")
                        + (resp.statusCode() == 401 || resp.statusCode() == 403 ? " (the repository is gated or private)" : ""));
            }
            if (resp.body().length > (64 << 20)) {
                throw new MetagenException("cannot list " + model + ": the listing is over 64 MiB");
            }
            com.fasterxml.jackson.databind.JsonNode tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(resp.body());
            if (tree == null || !tree.isArray()) {
                throw new MetagenException("cannot list " + model + " (" + url + "): the answer is not a JSON array");
            }
            List<RepoFile> out = new java.util.ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode e : tree) {
                String path = e.path("path").asText("");
                if (!"file".equals(e.path("type").asText("file")) || !isModelFile(path)) {
                    continue;
                }
                long size = e.path("size").canConvertToLong() ? e.path("size").asLong(-1) : -1;
                String sha = e.path("lfs").path("oid").asText(null);
                if (sha != null) {
                    sha = sha.toLowerCase(Locale.ROOT);
                    if (sha.startsWith("sha256:")) {
                        sha = sha.substring(7);
                    }
                    if (!SHA256.matcher(sha).matches()) {
                        sha = null;
                    }
                }
                out.add(new RepoFile(path, size, sha));
            }
            return out;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MetagenException("cannot list " + model + " (" + url + "): the answer is not JSON");
        } catch (java.net.http.HttpConnectTimeoutException | java.net.ConnectException e) {
            throw new MetagenException("cannot list " + model + " (" + url + "): no network (" + offline(e, url) + ")");
        } catch (IOException e) {
            throw new MetagenException("cannot list " + model + " (" + url + "): " + MetagenException.describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetagenException("listing " + model + " was interrupted", e);
        }
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
        if (isRepositoryReference(model)) {
            return resolveRepository(model, listener);
        }
        HubFile ref = parse(model);
        Path target = cachePath(ref);
        if (Files.isRegularFile(target)) {
            String damage = checkCached(ref, target);
            if (damage == null) {
                return target;
            }
            try {
                Files.delete(target);
                Files.deleteIfExists(record(target));
            } catch (IOException e) {
                throw new MetagenException("the cached " + target + " is damaged (" + damage + ") and cannot be removed ("
                        + MetagenException.describe(e) + "): delete it to download " + ref.reference() + " again");
            }
        }
        Path seeded = fromSeed(ref, target);
        if (seeded != null) {
            return seeded;
        }
        download(ref, target, listener, KNOWN_SHA256.get(ref.reference()), -1, true);
        return target;
    }

    /** The record of a cached file's size and sha256: {@code FILE.gguf.sha256} holding "SHA256 SIZE". */
    static Path record(Path target) {
        return target.resolveSibling(target.getFileName() + ".sha256");
    }

    /** Null when the cached file is whole, else what is wrong with it; records a file that has no record yet. */
    private String checkCached(HubFile ref, Path target) {
        String known = KNOWN_SHA256.get(ref.reference());
        try {
            long size = Files.size(target);
            Path rec = record(target);
            if (Files.isRegularFile(rec)) {
                String[] f = Files.readString(rec).strip().split("\\s+");
                if (f.length == 2 && SHA256.matcher(f[0]).matches() && (known == null || known.equals(f[0]))) {
                    long recorded = Long.parseLong(f[1]);
                    return recorded == size ? null : "its size is " + size + " bytes, " + recorded + " when it was cached";
                }
            }
            // no (valid) record: a file cached by hand, by an older version or by an interrupted run
            String actual = sha256(target);
            if (known != null && !known.equals(actual)) {
                return "sha256 " + actual + ", expected " + known;
            }
            if (known == null) {
                String bad = incompleteGguf(target);
                if (bad != null) {
                    return bad;
                }
            }
            writeRecord(target, actual, size);
            return null;
        } catch (IOException | NumberFormatException e) {
            return "cannot check it: " + MetagenException.describe(e);
        }
    }

    /** Records size and sha256 next to the cached file; a cache that cannot be written keeps working without it. */
    private static void writeRecord(Path target, String sha, long size) {
        Path rec = record(target);
        try {
            Path tmp = Files.createTempFile(target.getParent(), rec.getFileName().toString() + ".", ".part");
            Files.writeString(tmp, sha + " " + size + "\n");
            move(tmp, rec);
        } catch (IOException | UnsupportedOperationException e) {
            // read-only cache: the file is checked again on its next use
        }
    }

    /** Null when {@code file} parses as a GGUF file with every tensor inside it, else why not. */
    private static String incompleteGguf(Path file) {
        try (var gguf = dev.metagen.engine.gguf.GgufFile.open(file)) {
            return null;
        } catch (RuntimeException e) {
            return "not a complete GGUF file: " + MetagenException.describe(e);
        }
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) >= 0; ) {
                sha.update(buf, 0, r);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /**
     * A known file found in the seed directory with the right sha256: copied into the cache, or used where it lies
     * when the cache cannot be written; null when there is none.
     */
    private Path fromSeed(HubFile ref, Path target) {
        String known = KNOWN_SHA256.get(ref.reference());
        if (seed == null || known == null) {
            return null;
        }
        Path candidate = seed.resolve(target.getFileName().toString());
        try {
            if (!Files.isRegularFile(candidate) || !known.equals(sha256(candidate))) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        Path part = null;
        try {
            Files.createDirectories(target.getParent());
            part = Files.createTempFile(target.getParent(), target.getFileName().toString() + ".", ".part");
            Files.copy(candidate, part, StandardCopyOption.REPLACE_EXISTING);
            if (!known.equals(sha256(part))) {
                return candidate;
            }
            move(part, target);
            part = null;
            writeRecord(target, known, Files.size(target));
            return target;
        } catch (IOException | UnsupportedOperationException e) {
            return candidate; // the cache is read-only: the verified seed serves as it is
        } finally {
            deleteQuietly(part);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: a stale .part file is harmless, the next download uses a fresh name
            }
        }
    }

    /**
     * @param knownSha  the sha256 the file must have (a known file, or the LFS digest of a repository listing); null
     *                  to take the digest the server sends
     * @param knownSize the size the file must have, or -1
     * @param gguf      whether a download with neither a digest nor a length must parse as a complete GGUF file
     */
    private void download(HubFile ref, Path target, DownloadListener listener, String knownSha, long knownSize, boolean gguf) {
        String url = url(ref);
        Path part = null;
        try {
            try {
                Files.createDirectories(target.getParent());
                Files.delete(Files.createTempFile(target.getParent(), target.getFileName().toString() + ".", ".part"));
            } catch (IOException | UnsupportedOperationException e) {
                throw new MetagenException("cannot download " + ref.reference() + ": the model cache " + home
                        + " cannot be written (" + MetagenException.describe(e) + "); set METAGEN_HOME to a writable directory or pass --model PATH");
            }
            HttpRequest req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(30)).GET().build();
            HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = resp.body()) {
                if (resp.statusCode() != 200) {
                    throw new MetagenException("cannot download " + url + ": HTTP " + resp.statusCode()
                            + (resp.statusCode() == 404 ? " (no such file in that repository)" : "")
                            + (resp.statusCode() == 401 || resp.statusCode() == 403 ? " (the repository is gated or private)" : ""));
                }
                long total = resp.headers().firstValueAsLong("Content-Length").orElse(knownSize);
                if (knownSize >= 0 && total != knownSize) {
                    throw new MetagenException("cannot download " + url + ": the server sends " + total
                            + " bytes, the repository lists " + knownSize);
                }
                String expected = knownSha;
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
                if (expected == null && total < 0 && gguf) {
                    // nothing says how much should have come: a connection cut early looks like the end of the file
                    String bad = incompleteGguf(part);
                    if (bad != null) {
                        throw new MetagenException("download of " + url + " is incomplete: the server sent no length and no checksum, and "
                                + n + " bytes are " + bad);
                    }
                }
                move(part, target);
                part = null;
                writeRecord(target, actual, n);
            }
            listener.onDone();
        } catch (java.net.http.HttpConnectTimeoutException e) {
            throw new MetagenException("cannot download " + ref.reference() + " (" + url + "): no network (connection to "
                    + host(url) + " timed out)");
        } catch (HttpTimeoutException e) {
            throw new MetagenException("cannot download " + url + ": timed out");
        } catch (java.net.ConnectException e) {
            throw new MetagenException("cannot download " + ref.reference() + " (" + url + "): no network (" + offline(e, url) + ")");
        } catch (IOException e) {
            String offline = offline(e, url);
            if (offline.startsWith("cannot resolve")) {
                throw new MetagenException("cannot download " + ref.reference() + " (" + url + "): no network (" + offline + ")");
            }
            throw new MetagenException("cannot download " + url + " to " + target + ": " + MetagenException.describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetagenException("download of " + url + " was interrupted", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        } finally {
            deleteQuietly(part);
        }
    }

    private static String host(String url) {
        URI u = URI.create(url);
        return u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort();
    }

    /** Why a connection could not be made, from the exception and its causes. */
    private static String offline(Throwable e, String url) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.UnknownHostException || t instanceof java.nio.channels.UnresolvedAddressException) {
                return "cannot resolve " + URI.create(url).getHost();
            }
        }
        return "connection refused to " + host(url);
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
            // temporary files are private (0600); the cache is readable like any other downloaded file
            Files.setPosixFilePermissions(part, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: its defaults stand
        }
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
