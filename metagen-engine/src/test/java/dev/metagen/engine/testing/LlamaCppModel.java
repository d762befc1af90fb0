package dev.metagen.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp as the reference implementation, through node-llama-cpp: drives {@code test-support/llamacpp/evaluate.mjs}
 * (one long-running Node process speaking JSON lines) to get llama.cpp's next-token probabilities, greedy
 * continuations and speed for a GGUF model. Fails (never skips) when node or its node_modules are missing.
 */
public final class LlamaCppModel implements AutoCloseable {

    /** One decoding step: the greedy token and the top next-token probabilities it was drawn from (descending). */
    public record Step(int token, int[] ids, float[] probs) {
        /** The probability of {@code id} if it is among the returned top ids, else -1. */
        public float probOf(int id) {
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == id) {
                    return probs[i];
                }
            }
            return -1;
        }
    }

    /** Speed of prefill and decode (best of the repetitions), as measured inside the Node process. */
    public record Bench(double prefillTokensPerSecond, double decodeTokensPerSecond, int prompt, int gen, int threads) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String INSTALL_HINT = "run `npm install --no-audit --no-fund --prefix test-support/llamacpp` at the repository root";
    private static final long TIMEOUT_SECONDS = 300;
    private static final Object EOF = new Object();

    private final Process process;
    private final OutputStream stdin;
    private final BlockingQueue<Object> lines = new ArrayBlockingQueue<>(1024);
    private final StringBuilder stderr = new StringBuilder();
    private Path model;
    private int vocabSize;

    private LlamaCppModel(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        Thread.ofPlatform().daemon().name("llamacpp-stdout").start(() -> pump(process));
        Thread.ofPlatform().daemon().name("llamacpp-stderr").start(this::drainStderr);
    }

    /** Starts the Node process without a model; {@link #load} one before asking for tokens. */
    public static LlamaCppModel start() {
        Path dir = harnessDirectory();
        ProcessBuilder pb = new ProcessBuilder("node", "evaluate.mjs").directory(dir.toFile());
        try {
            return new LlamaCppModel(pb.start());
        } catch (IOException e) {
            throw new IllegalStateException("cannot start `node` for the llama.cpp reference (" + e.getMessage()
                    + "): install Node.js 20+ and " + INSTALL_HINT, e);
        }
    }

    /** Starts llama.cpp on {@code model} with a context of {@code contextSize} tokens and {@code threads} threads. */
    public static LlamaCppModel open(Path model, int contextSize, int threads) {
        LlamaCppModel m = start();
        try {
            m.load(model, contextSize, threads);
            return m;
        } catch (RuntimeException e) {
            m.process.destroyForcibly();
            throw e;
        }
    }

    /**
     * Replaces the loaded model (one process serves many models in turn). The KV cache is F32 and flash attention
     * off, llama.cpp's most exact configuration (its default F16 cache rounds every cached key and value).
     */
    public void load(Path model, int contextSize, int threads) {
        ObjectNode load = JSON.createObjectNode().put("op", "load").put("model", model.toAbsolutePath().toString())
                .put("contextSize", contextSize).put("threads", threads).put("kvCacheType", "F32").put("flashAttention", false);
        this.model = null;
        this.vocabSize = request(load).get("vocabSize").asInt();
        this.model = model;
    }

    /** {@code test-support/llamacpp}, found from the working directory upwards; fails when it is not installed. */
    public static Path harnessDirectory() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("test-support/llamacpp/evaluate.mjs"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("test-support/llamacpp/evaluate.mjs not found above " + Path.of("").toAbsolutePath());
        }
        Path harness = dir.resolve("test-support/llamacpp");
        if (!Files.isDirectory(harness.resolve("node_modules/node-llama-cpp"))) {
            throw new IllegalStateException("node-llama-cpp is not installed in " + harness + ": " + INSTALL_HINT);
        }
        return harness;
    }

    public Path model() {
        return model;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /**
     * Next-token distributions along llama.cpp's greedy continuation: entry 0 after {@code prompt}, entry i after
     * the prompt plus the first i greedy tokens; {@code top} ids per step (0 = the whole vocabulary).
     */
    public List<Step> probs(int[] prompt, int steps, int top) {
        ObjectNode req = JSON.createObjectNode().put("op", "probs").put("steps", steps).put("top", top);
        req.set("tokens", JSON.valueToTree(prompt));
        List<Step> out = new ArrayList<>();
        for (JsonNode s : request(req).get("steps")) {
            JsonNode ids = s.get("ids");
            JsonNode ps = s.get("probs");
            int[] i = new int[ids.size()];
            float[] p = new float[ps.size()];
            for (int k = 0; k < i.length; k++) {
                i[k] = ids.get(k).asInt();
                p[k] = (float) ps.get(k).asDouble();
            }
            out.add(new Step(s.get("token").asInt(), i, p));
        }
        return out;
    }

    /** {@code n} greedy (temperature 0) tokens after {@code prompt}. */
    public int[] greedy(int[] prompt, int n) {
        ObjectNode req = JSON.createObjectNode().put("op", "greedy").put("n", n);
        req.set("tokens", JSON.valueToTree(prompt));
        JsonNode t = request(req).get("tokens");
        int[] out = new int[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.get(i).asInt();
        }
        return out;
    }

    /** llama.cpp's prefill and decode speed on this model, best of {@code repetitions}. */
    public Bench bench(int prompt, int gen, int threads, int repetitions) {
        ObjectNode req = JSON.createObjectNode().put("op", "bench").put("prompt", prompt).put("gen", gen)
                .put("threads", threads).put("repetitions", repetitions);
        JsonNode r = request(req);
        return new Bench(r.get("prefill_tokens_per_s").asDouble(), r.get("decode_tokens_per_s").asDouble(), prompt, gen, threads);
    }

    /** Sends one request line and waits for its answer; an {@code error} answer becomes an exception. */
    private synchronized JsonNode request(ObjectNode req) {
        try {
            stdin.write((JSON.writeValueAsString(req) + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            throw new IllegalStateException("llama.cpp reference process died: " + diagnostics(), e);
        }
        Object line;
        try {
            line = lines.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for llama.cpp", e);
        }
        if (line == null) {
            process.destroyForcibly();
            throw new IllegalStateException("llama.cpp gave no answer to " + req.get("op") + " in " + TIMEOUT_SECONDS + " s: " + diagnostics());
        }
        if (line == EOF) {
            throw new IllegalStateException("llama.cpp reference process exited: " + diagnostics());
        }
        JsonNode r;
        try {
            r = JSON.readTree((String) line);
        } catch (IOException e) {
            throw new IllegalStateException("llama.cpp answered with a non-JSON line: " + line);
        }
        if (r.has("error")) {
            Object on = req.has("model") ? req.get("model").asText() : model;
            throw new IllegalArgumentException("llama.cpp " + req.get("op").asText() + " on " + on + ": " + r.get("error").asText());
        }
        return r;
    }

    private void pump(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                // node-llama-cpp prints nothing else on stdout at logLevel "error"; skip anything that is not ours
                if (line.startsWith("{")) {
                    lines.put(line);
                }
            }
        } catch (IOException | InterruptedException ignored) {
            // the process is gone; EOF below wakes the waiting request
        }
        lines.offer(EOF);
    }

    private void drainStderr() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (stderr) {
                    if (stderr.length() < 8192) {
                        stderr.append(line).append(' ');
                    }
                }
            }
        } catch (IOException ignored) {
            // process gone
        }
    }

    private String diagnostics() {
        String err;
        synchronized (stderr) {
            err = stderr.toString().strip();
        }
        String exit = process.isAlive() ? "running" : "exit status " + process.exitValue();
        return exit + (err.isEmpty() ? "" : ", stderr: " + err) + " (if node-llama-cpp is missing, " + INSTALL_HINT + ")";
    }

    @Override
    public void close() {
        try {
            stdin.close(); // evaluate.mjs unloads and exits when stdin closes
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
