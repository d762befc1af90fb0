package dev.metagen.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * @huggingface/jinja (transformers.js's Jinja, installed with node-llama-cpp) as a second chat template reference:
 * drives {@code test-support/llamacpp/chat-template.mjs}. It applies templates as transformers does, without
 * llama.cpp's chat-format handlers, so it tells a rendering difference from a llama.cpp rewrite.
 */
public final class HfJinja {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A rendering ({@code text}) or the error the template raised ({@code error}). */
    public record Result(String text, String error) {
    }

    private HfJinja() {
    }

    /**
     * Renders every template (name to source) on every conversation (name to {@code {"messages":[..],
     * "tools":[..]}} in the Hugging Face shape). Results keyed by template, then conversation.
     */
    public static Map<String, Map<String, Result>> render(Map<String, String> templates,
                                                         Map<String, JsonNode> conversations, String bos,
                                                         String eos) throws IOException, InterruptedException {
        Path dir = Path.of("..", "test-support", "llamacpp").toAbsolutePath().normalize();
        if (!Files.isDirectory(dir.resolve("node_modules").resolve("@huggingface").resolve("jinja"))) {
            throw new IllegalStateException(dir + "/node_modules has no @huggingface/jinja: run "
                    + "`npm install --prefix test-support/llamacpp` (needs node on PATH)");
        }
        ObjectNode job = JSON.createObjectNode();
        var arr = job.putArray("templates");
        templates.forEach((name, src) -> arr.addObject().put("name", name).put("source", src));
        job.set("conversations", JSON.valueToTree(conversations));
        job.put("bos_token", bos).put("eos_token", eos);
        Process p = new ProcessBuilder("node", "chat-template.mjs").directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(JSON.writeValueAsBytes(job));
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("chat-template.mjs failed: " + new String(out, StandardCharsets.UTF_8));
        }
        Map<String, Map<String, Result>> results = new LinkedHashMap<>();
        JsonNode root = JSON.readTree(out);
        root.properties().forEach(t -> {
            Map<String, Result> m = new LinkedHashMap<>();
            t.getValue().properties().forEach(c -> m.put(c.getKey(), new Result(
                    c.getValue().hasNonNull("text") ? c.getValue().get("text").asText() : null,
                    c.getValue().hasNonNull("error") ? c.getValue().get("error").asText() : null)));
            results.put(t.getKey(), m);
        });
        return results;
    }
}
