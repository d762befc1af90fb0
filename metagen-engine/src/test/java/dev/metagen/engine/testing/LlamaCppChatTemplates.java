package dev.metagen.engine.testing;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp's chat template application (build 4916 through de.kherud:llama with {@code --jinja}: minja plus its
 * chat-format handlers) as a reference. llama.cpp terminates the process on a template it cannot parse, so the
 * templates are applied in a child JVM that is restarted after the template that killed it.
 */
public final class LlamaCppChatTemplates {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One template with the request bodies (name to OpenAI chat JSON) to apply it to. */
    public record Job(Path template, Map<String, String> requests) {
    }

    /** llama.cpp's rendering of a request ({@code text}) or why there is none ({@code error}). */
    public record Result(String text, String error) {
    }

    private LlamaCppChatTemplates() {
    }

    /**
     * Results keyed by template file name, then request name. They are cached in {@code workDir} under a key of
     * the inputs and the date (templates print today's date), since a full run restarts llama.cpp many times.
     */
    public static Map<String, Map<String, Result>> apply(List<Job> jobs, Path workDir) throws IOException,
            InterruptedException {
        Files.createDirectories(workDir);
        Path cache = workDir.resolve("cache-" + cacheKey(jobs) + ".json");
        if (Files.exists(cache)) {
            return JSON.readValue(cache.toFile(), new com.fasterxml.jackson.core.type.TypeReference<
                    LinkedHashMap<String, LinkedHashMap<String, Result>>>() { }).entrySet().stream()
                    .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> (Map<String, Result>) e.getValue(),
                            (a, b) -> a, LinkedHashMap::new));
        }
        Map<String, Map<String, Result>> out = run(jobs, workDir);
        JSON.writeValue(cache.toFile(), out);
        return out;
    }

    private static String cacheKey(List<Job> jobs) throws IOException {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            md.update(java.time.LocalDate.now().toString().getBytes(StandardCharsets.UTF_8));
            for (Job j : jobs) {
                md.update(Files.readAllBytes(j.template()));
                md.update(j.requests().toString().getBytes(StandardCharsets.UTF_8));
            }
            return java.util.HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Map<String, Result>> run(List<Job> jobs, Path workDir) throws IOException,
            InterruptedException {
        Map<String, Map<String, Result>> out = new LinkedHashMap<>();
        List<Job> remaining = new ArrayList<>(jobs);
        int round = 0;
        while (!remaining.isEmpty()) {
            Path in = workDir.resolve("jobs-" + round + ".jsonl");
            Path res = workDir.resolve("results-" + round + ".jsonl");
            Path err = workDir.resolve("stderr-" + round + ".txt");
            round++;
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(in, StandardCharsets.UTF_8))) {
                for (Job j : remaining) {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("template", j.template().toString());
                    o.set("requests", JSON.valueToTree(j.requests()));
                    w.println(o);
                }
            }
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", cp, LlamaCppChatTemplates.class.getName(), in.toString(), res.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(err.toFile())
                    .start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("llama.cpp template child did not finish in 10 minutes");
            }
            String started = null;
            for (String line : Files.readAllLines(res, StandardCharsets.UTF_8)) {
                JsonNode n = JSON.readTree(line);
                String t = Path.of(n.get("template").asText()).getFileName().toString();
                if (n.has("start")) {
                    started = t;
                    out.putIfAbsent(t, new LinkedHashMap<>());
                    continue;
                }
                out.get(t).put(n.get("request").asText(), new Result(n.hasNonNull("text") ? n.get("text").asText()
                        : null, n.hasNonNull("error") ? n.get("error").asText() : null));
            }
            // drop the finished ones; the one that was running when the child died gets the abort as its result
            int done = 0;
            for (Job j : remaining) {
                String t = j.template().getFileName().toString();
                Map<String, Result> got = out.get(t);
                if (got == null) {
                    break;
                }
                if (got.size() < j.requests().size()) {
                    String why = "llama.cpp terminated: " + lastLines(err);
                    for (String r : j.requests().keySet()) {
                        got.putIfAbsent(r, new Result(null, why));
                    }
                }
                done++;
                if (t.equals(started) && p.exitValue() != 0) {
                    break;
                }
            }
            if (done == 0) {
                throw new IllegalStateException("llama.cpp template child made no progress: " + lastLines(err));
            }
            remaining = new ArrayList<>(remaining.subList(done, remaining.size()));
        }
        return out;
    }

    private static String lastLines(Path err) throws IOException {
        List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8).stream()
                .filter(l -> l.startsWith("terminate") || l.contains("what()")).toList();
        String s = lines.isEmpty() ? "exit without message" : String.join(" ", lines);
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /** Child: applies each job's template to its requests, one JSON line per result, flushed as it goes. */
    public static void main(String[] args) throws IOException {
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(args[1]), StandardCharsets.UTF_8),
                true)) {
            for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
                JsonNode job = JSON.readTree(line);
                String template = job.get("template").asText();
                w.println(JSON.createObjectNode().put("template", template).put("start", true));
                w.flush();
                Map<String, String> requests = new HashMap<>();
                job.get("requests").properties().forEach(e -> requests.put(e.getKey(), e.getValue().asText()));
                LlamaModel model = null;
                String loadError = null;
                try {
                    model = new LlamaModel(new ModelParameters().setModel(SharedData.stories260k().toString())
                            .setCtxSize(256).setThreads(1).setGpuLayers(0).skipWarmup().disableLog().enableJinja()
                            .setChatTemplate(Files.readString(Path.of(template))));
                } catch (RuntimeException e) {
                    loadError = "load failed: " + e.getMessage();
                }
                for (Map.Entry<String, String> r : requests.entrySet()) {
                    ObjectNode o = JSON.createObjectNode().put("template", template).put("request", r.getKey());
                    if (model == null) {
                        o.put("error", loadError);
                    } else {
                        try {
                            o.put("text", model.applyTemplate(r.getValue()));
                        } catch (RuntimeException e) {
                            o.put("error", String.valueOf(e.getMessage()));
                        }
                    }
                    w.println(o);
                    w.flush();
                }
                if (model != null) {
                    model.close();
                }
            }
        }
        // llama.cpp's native threads keep the JVM alive after main returns
        System.exit(0);
    }
}
