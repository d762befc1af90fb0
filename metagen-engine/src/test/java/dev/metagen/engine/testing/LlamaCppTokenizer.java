package dev.metagen.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * llama.cpp's tokenizer as a test oracle: drives {@code test-support/llamacpp/tokenize.mjs} (node-llama-cpp, a
 * prebuilt llama.cpp) over stdin/stdout JSON lines. Fails loudly when node or the npm packages are missing.
 */
public final class LlamaCppTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final BufferedWriter in;
    private final BufferedReader out;

    private LlamaCppTokenizer(Process process) {
        this.process = process;
        this.in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** The {@code test-support/llamacpp} folder, found by walking up from the working directory. */
    public static Path scriptDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path dir = p.resolve("test-support").resolve("llamacpp");
            if (Files.isRegularFile(dir.resolve("tokenize.mjs"))) {
                return dir;
            }
        }
        throw new IllegalStateException("test-support/llamacpp/tokenize.mjs not found above " + Path.of("").toAbsolutePath());
    }

    /** Starts node; throws with instructions if node or node_modules is missing. */
    public static LlamaCppTokenizer start() {
        Path dir = scriptDir();
        String fix = "run `npm install --prefix test-support/llamacpp` (needs node on PATH)";
        if (!Files.isDirectory(dir.resolve("node_modules").resolve("node-llama-cpp"))) {
            throw new IllegalStateException(dir.resolve("node_modules") + " has no node-llama-cpp: " + fix);
        }
        try {
            ProcessBuilder pb = new ProcessBuilder("node", "tokenize.mjs").directory(dir.toFile());
            pb.redirectError(ProcessBuilder.Redirect.DISCARD); // llama.cpp logs vocab-only load notes there
            return new LlamaCppTokenizer(pb.start());
        } catch (IOException e) {
            throw new IllegalStateException("cannot start node (" + e.getMessage() + "): " + fix, e);
        }
    }

    /** Tokenizes each text with llama.cpp, as {@code Tokenizer.encode(text, addSpecial, parseSpecial)} should. */
    public List<int[]> tokenize(Path model, List<String> texts, boolean addSpecial, boolean parseSpecial) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("model", model.toAbsolutePath().toString());
        request.put("texts", texts);
        request.put("addSpecial", addSpecial);
        request.put("parseSpecial", parseSpecial);
        JsonNode reply = call(model, request);
        List<int[]> result = new ArrayList<>(texts.size());
        for (JsonNode ids : reply.get("ids")) {
            int[] a = new int[ids.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = ids.get(i).asInt();
            }
            result.add(a);
        }
        return result;
    }

    /** Detokenizes each id list with llama.cpp (remove_special = false, unparse_special = false). */
    public List<String> detokenize(Path model, List<int[]> idLists) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("model", model.toAbsolutePath().toString());
        request.put("detokenize", idLists);
        JsonNode reply = call(model, request);
        List<String> result = new ArrayList<>(idLists.size());
        for (JsonNode t : reply.get("texts")) {
            result.add(t.asText());
        }
        return result;
    }

    private JsonNode call(Path model, Map<String, Object> request) {
        try {
            in.write(JSON.writeValueAsString(request));
            in.write('\n');
            in.flush();
            String line = out.readLine();
            if (line == null) {
                throw new IllegalStateException("tokenize.mjs exited (status " + waitExit() + ")");
            }
            JsonNode reply = JSON.readTree(line);
            if (reply.has("error")) {
                throw new IllegalStateException("tokenize.mjs failed on " + model + ": " + reply.get("error").asText());
            }
            return reply;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private int waitExit() {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException ignored) {
            // the process is going away anyway
        }
        process.destroy();
    }
}
