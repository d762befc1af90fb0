package dev.metagen.decoding.testing;

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
import java.util.Map;

/**
 * llama.cpp's sampler chain through node-llama-cpp ({@code test-support/llamacpp/sampling.mjs}): for each prefix,
 * the candidate set and probabilities llama.cpp samples the next token from. Fails (never skips) when node or
 * node-llama-cpp is missing.
 */
public final class LlamaCppSampling implements AutoCloseable {
    /** One step: candidate ids (descending probability) and their probabilities after the chain. */
    public record Step(int[] ids, double[] probs) {
        public double probOf(int id) {
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == id) {
                    return probs[i];
                }
            }
            return 0;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Process process;
    private final OutputStream stdin;
    private final BufferedReader stdout;

    public LlamaCppSampling() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("test-support/llamacpp/sampling.mjs"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("test-support/llamacpp/sampling.mjs not found above " + Path.of("").toAbsolutePath());
        }
        Path harness = dir.resolve("test-support/llamacpp");
        if (!Files.isDirectory(harness.resolve("node_modules/node-llama-cpp"))) {
            throw new IllegalStateException("node-llama-cpp is not installed: run `npm install --no-audit --no-fund --prefix test-support/llamacpp`");
        }
        try {
            process = new ProcessBuilder("node", "sampling.mjs").directory(harness.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start node for the llama.cpp reference: " + e.getMessage(), e);
        }
        stdin = process.getOutputStream();
        stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** llama.cpp's adapted candidates after each prefix, with node-llama-cpp sampling {@code options}. */
    public List<Step> steps(Path model, List<int[]> prefixes, Map<String, Object> options) {
        return request(model, prefixes, options, false);
    }

    /** llama.cpp's raw next-token logits after each prefix, every token of the vocabulary ({@link Step#probs} holds logits). */
    public List<Step> logits(Path model, List<int[]> prefixes) {
        return request(model, prefixes, Map.of("temperature", 1, "topK", 0, "topP", 1, "seed", 1), true);
    }

    private List<Step> request(Path model, List<int[]> prefixes, Map<String, Object> options, boolean logits) {
        ObjectNode req = JSON.createObjectNode().put("model", model.toAbsolutePath().toString()).put("logits", logits);
        req.set("prefixes", JSON.valueToTree(prefixes));
        req.set("options", JSON.valueToTree(options));
        JsonNode r;
        try {
            stdin.write((JSON.writeValueAsString(req) + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            String line;
            do {
                line = stdout.readLine();
            } while (line != null && !line.startsWith("{"));
            if (line == null) {
                throw new IllegalStateException("llama.cpp reference process exited");
            }
            r = JSON.readTree(line);
        } catch (IOException e) {
            throw new IllegalStateException("llama.cpp reference process failed: " + e.getMessage(), e);
        }
        if (r.has("error")) {
            throw new IllegalStateException("llama.cpp: " + r.get("error").asText());
        }
        List<Step> out = new ArrayList<>();
        for (JsonNode s : r.get("steps")) {
            int[] ids = new int[s.get("ids").size()];
            double[] probs = new double[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = s.get("ids").get(i).asInt();
                probs[i] = s.get("probs").get(i).asDouble();
            }
            out.add(new Step(ids, probs));
        }
        return out;
    }

    @Override
    public void close() {
        try {
            stdin.close();
            process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            process.destroyForcibly();
        }
    }
}
