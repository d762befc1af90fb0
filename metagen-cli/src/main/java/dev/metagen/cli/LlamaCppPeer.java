package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.MetagenException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * llama.cpp as a benchmark peer: the Node process {@code test-support/llamacpp/evaluate.mjs} (npm
 * {@code node-llama-cpp}), spoken to in JSON lines, so both engines are measured in one command.
 */
final class LlamaCppPeer implements AutoCloseable {
    private final Process process;
    private final Writer in;
    private final BufferedReader out;

    private LlamaCppPeer(Process process) {
        this.process = process;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts the peer from {@code dir} (default: {@code test-support/llamacpp} of the checkout the jar was built in). */
    static LlamaCppPeer start(Path dir) {
        Path d = dir != null ? dir : defaultDirectory();
        if (!Files.isRegularFile(d.resolve("evaluate.mjs"))) {
            throw new MetagenException("llama.cpp peer not found: " + d.resolve("evaluate.mjs") + " (give --llamacpp-dir)");
        }
        if (!Files.isDirectory(d.resolve("node_modules/node-llama-cpp"))) {
            throw new MetagenException("node-llama-cpp is not installed in " + d + ": run npm install --prefix " + d);
        }
        try {
            Process p = new ProcessBuilder("node", "evaluate.mjs").directory(d.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            return new LlamaCppPeer(p);
        } catch (IOException e) {
            throw new MetagenException("cannot start node for the llama.cpp peer: " + MetagenException.describe(e));
        }
    }

    private static Path defaultDirectory() {
        try {
            Path jar = Path.of(LlamaCppPeer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // <root>/metagen-cli/target/metagen.jar
            Path root = jar.getParent() != null && jar.getParent().getParent() != null
                    ? jar.getParent().getParent().getParent() : null;
            if (root != null && Files.isDirectory(root.resolve("test-support/llamacpp"))) {
                return root.resolve("test-support/llamacpp");
            }
        } catch (URISyntaxException | SecurityException e) {
            // fall through to the working directory
        }
        return Path.of("test-support", "llamacpp").toAbsolutePath();
    }

    JsonNode request(Map<String, Object> req) {
        try {
            in.write(Json.write(req) + "\n");
            in.flush();
            String line = out.readLine();
            if (line == null) {
                throw new MetagenException("the llama.cpp peer exited unexpectedly");
            }
            JsonNode n = Json.MAPPER.readTree(line);
            if (n.has("error")) {
                throw new MetagenException("llama.cpp peer: " + n.get("error").asText());
            }
            return n;
        } catch (IOException e) {
            throw new MetagenException("llama.cpp peer: " + MetagenException.describe(e));
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException ignored) {
            // the process is destroyed below anyway
        }
        process.destroy();
    }
}
