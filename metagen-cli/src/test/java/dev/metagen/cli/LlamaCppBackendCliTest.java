package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.llamacpp.LlamaCppModel;
import dev.metagen.llamacpp.LlamaCppOptions;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.runtime.ModelRegistry;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --backend llamacpp} and {@code llamacpp:} references: generation, strategies, named models and the server run
 * on llama.cpp and give the pure-Java engine's greedy text; the engine's own settings are refused there.
 */
class LlamaCppBackendCliTest {
    private static final String STORIES = StrategyCliTest.STORIES.toString();
    private static final String PROMPT = "Once upon a time";

    private static void requireLibrary() {
        if (!LlamaCppModel.libraryAvailable()) {
            String msg = "\n*** SKIPPED: llama.cpp library not found: run ./run-tests once (it installs node-llama-cpp under"
                    + " test-support/llamacpp) or set METAGEN_LLAMA_LIB. ***\n";
            System.err.println(msg);
            Assumptions.abort(msg);
        }
    }

    private static StrategyCliTest.Result generate(String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "-m", STORIES, "-p", PROMPT, "--temperature", "0", "-n", "16", "--threads", "1"));
        args.addAll(List.of(extra));
        return StrategyCliTest.run(args.toArray(String[]::new));
    }

    private static StrategyCliTest.Result ok(StrategyCliTest.Result r) {
        assertEquals(0, r.exit(), r.err());
        return r;
    }

    @Test
    void greedyGenerationEqualsTheEngine() {
        requireLibrary();
        String engine = ok(generate()).out();
        String llama = ok(generate("--backend", "llamacpp")).out();
        assertTrue(engine.strip().length() > 8, engine);
        assertEquals(engine, llama);
        // a llamacpp: reference runs on llama.cpp without --backend; --json names the same tokens
        JsonNode a = read(ok(StrategyCliTest.run("generate", "-m", "llamacpp:" + STORIES, "-p", PROMPT, "--temperature", "0",
                "-n", "16", "--json")).out());
        JsonNode b = read(ok(generate("--json")).out());
        assertEquals("llamacpp", a.path("backend").asText());
        assertEquals("pure-java", b.path("backend").asText());
        assertEquals("llamacpp", read(ok(generate("--backend", "llamacpp", "--json")).out()).path("backend").asText());
        assertEquals(b.path("tokens"), a.path("tokens"));
        assertEquals(b.path("text").asText(), a.path("text").asText());
    }

    @Test
    void strategiesRunUnchangedOnLlamaCpp() {
        requireLibrary();
        String bestOf = "{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"greedy\"}}";
        String engine = ok(generate("--strategy", bestOf)).out();
        assertEquals(engine, ok(generate("--strategy", bestOf, "--backend", "llamacpp")).out());
        assertEquals("llamacpp", read(ok(generate("--strategy", bestOf, "--backend", "llamacpp", "--json")).out()).path("backend").asText());
        // a greedy leaf under the command line's --regex, and a constrained leaf with its own regex
        String regex = "( [a-z]{1,4}){3}";
        String underFlag = ok(generate("--strategy", "{\"type\":\"greedy\"}", "--regex", regex)).out();
        assertTrue(underFlag.strip().matches("([a-z]{1,4} ?){3}"), underFlag);
        assertEquals(underFlag, ok(generate("--strategy", "{\"type\":\"greedy\"}", "--regex", regex, "--backend", "llamacpp")).out());
        String leaf = "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"constrained\",\"regex\":\" [a-z]+ [a-z]+\"}}";
        String constrained = ok(generate("--strategy", leaf)).out();
        assertTrue(constrained.strip().matches("[a-z]+ [a-z]+"), constrained);
        assertEquals(constrained, ok(generate("--strategy", leaf, "--backend", "llamacpp")).out());
    }

    @Test
    void contrastiveSearchRunsOnLlamaCpp() {
        requireLibrary();
        // the degeneration penalty reads hidden states, which llama.cpp gives within float rounding of the engine's
        String[] contrastive = {"--contrastive-alpha", "0.6", "--contrastive-k", "4"};
        String engine = ok(generate(contrastive)).out();
        assertNotEquals(ok(generate()).out(), engine, "alpha 0.6 moves away from greedy here");
        List<String> onLlama = new ArrayList<>(List.of(contrastive));
        onLlama.addAll(List.of("--backend", "llamacpp"));
        assertEquals(engine, ok(generate(onLlama.toArray(String[]::new))).out());
    }

    @Test
    void aNamedLlamaCppModelServesALeaf() {
        requireLibrary();
        String engine = ok(generate("--strategy", "{\"type\":\"greedy\"}")).out();
        StrategyCliTest.Result named = ok(generate("--model", "other=llamacpp:" + STORIES,
                "--strategy", "{\"type\":\"greedy\",\"model\":\"other\"}", "--json"));
        JsonNode o = read(named.out());
        assertEquals(engine.strip(), o.path("text").asText().strip());
        // the same leaf through a reference the registry does not name
        StrategyCliTest.Result byRef = ok(generate("--strategy", "{\"type\":\"greedy\",\"model\":\"llamacpp:" + STORIES + "\"}"));
        assertEquals(engine, byRef.out());
    }

    @Test
    void theLoaderPicksTheBackendPerReference() {
        requireLibrary();
        ModelLoader engine = new ModelLoader(ModelLoader.Backend.PURE_JAVA, new ModelOptions(1, 0), LlamaCppOptions.DEFAULTS, Path::of);
        ModelLoader llama = new ModelLoader(ModelLoader.Backend.LLAMACPP, new ModelOptions(1, 0), LlamaCppOptions.DEFAULTS, Path::of);
        try (LanguageModel a = engine.load(STORIES); LanguageModel b = engine.load("llamacpp:" + STORIES);
             LanguageModel c = llama.load(STORIES);
             ModelRegistry registry = ModelRegistry.of(a, java.util.Map.of("other", "llamacpp:" + STORIES), engine::load)) {
            assertInstanceOf(TransformerModel.class, a);
            assertInstanceOf(LlamaCppModel.class, b);
            assertInstanceOf(LlamaCppModel.class, c);
            assertInstanceOf(LlamaCppModel.class, registry.get("other"));
            assertInstanceOf(LlamaCppModel.class, registry.get("llamacpp:" + STORIES));
            assertEquals(ModelLoader.chatTemplate(a).isFallback(), ModelLoader.chatTemplate(b).isFallback());
        }
        assertTrue(assertThrows(MetagenException.class, () -> engine.load("llamacpp:")).getMessage()
                .contains("the model reference after 'llamacpp:' is empty"));
    }

    @Test
    void serveAnswersTheEnginesCompletion() throws Exception {
        requireLibrary();
        String engine = complete("pure-java");
        String llama = complete("llamacpp");
        assertFalse(engine.isBlank());
        assertEquals(engine, llama);
    }

    /** Starts {@code serve} in-process on {@code backend}, asks one greedy completion and stops the server. */
    private static String complete(String backend) throws Exception {
        ServeCommand cmd = new ServeCommand();
        CommandLine cl = new CommandLine(cmd);
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        List<String> args = List.of("--model", STORIES, "--port", "0", "--threads", "1", "--backend", backend);
        int[] exit = {-1};
        Thread t = Thread.ofVirtual().start(() -> exit[0] = cl.execute(args.toArray(String[]::new)));
        for (int i = 0; i < 400 && cmd.running == null && t.isAlive(); i++) {
            Thread.sleep(25);
        }
        assertNotNull(cmd.running, err.toString());
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + cmd.running.port() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":16,\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode o = read(r.body());
            assertEquals("stories260K", o.path("model").asText(), r.body());
            assertEquals(16, o.path("usage").path("completion_tokens").asInt(), r.body());
            assertTrue(err.toString().contains("(" + backend + " backend;"), err.toString());
            return o.path("choices").path(0).path("text").asText();
        } finally {
            cmd.stop.countDown();
            t.join(5000);
            assertFalse(t.isAlive());
            assertEquals(0, exit[0], err.toString());
        }
    }

    @Test
    void engineSettingsAreRefusedOnLlamaCpp() {
        // refused before any model is loaded: no library needed
        StrategyCliTest.Result kv = generate("--kv-budget-mib", "64", "--backend", "llamacpp");
        assertEquals(2, kv.exit(), kv.err());
        assertTrue(kv.err().contains("--kv-budget-mib applies to the pure-Java engine only"), kv.err());
        StrategyCliTest.Result cache = StrategyCliTest.run("generate", "-m", "llamacpp:" + STORIES, "-p", "x", "--no-prefix-cache");
        assertEquals(2, cache.exit(), cache.err());
        assertTrue(cache.err().contains("--no-prefix-cache applies to the pure-Java engine only"), cache.err());
        StrategyCliTest.Result serve = StrategyCliTest.run("serve", "-m", STORIES, "--backend", "llamacpp", "--kv-budget-mib", "64");
        assertEquals(2, serve.exit(), serve.err());
        assertTrue(serve.err().contains("--kv-budget-mib applies to the pure-Java engine only"), serve.err());
        StrategyCliTest.Result bench = StrategyCliTest.run("bench", "-m", STORIES, "--backend", "llamacpp", "--speculative", "--lookup");
        assertEquals(2, bench.exit(), bench.err());
        assertTrue(bench.err().contains("--speculative applies to the pure-Java engine only"), bench.err());
        StrategyCliTest.Result bad = generate("--backend", "cuda");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--backend must be pure-java or llamacpp, got 'cuda'"), bad.err());
    }

    /** 32 and 64 samples of one prompt in one llama.cpp context (its default sequence count). */
    @Test
    void parallelSamplesRunOnLlamaCpp() {
        requireLibrary();
        for (String n : List.of("32", "64")) {
            JsonNode o = read(ok(StrategyCliTest.run("generate", "-m", STORIES, "-p", PROMPT, "--temperature", "1", "-n", "8",
                    "--threads", "1", "--backend", "llamacpp", "--parallel", n, "--seed", "3", "--json")).out());
            assertEquals(Integer.parseInt(n), o.path("sequences").size(), o.toString());
            java.util.Set<String> texts = new java.util.HashSet<>();
            for (JsonNode seq : o.path("sequences")) {
                assertEquals(8, seq.path("tokens").size(), seq.toString());
                texts.add(seq.path("text").asText());
            }
            assertTrue(texts.size() > 1, "all " + n + " samples alike");
        }
    }

    /** --llama-lib acts: a directory without libllama is refused with one line; the installed one is used. */
    @Test
    void llamaLibChoosesTheLibrary(@TempDir Path empty) {
        requireLibrary();
        StrategyCliTest.Result none = generate("--backend", "llamacpp", "--llama-lib", empty.toString());
        assertEquals(2, none.exit(), none.err());
        assertTrue(none.err().contains("--llama-lib " + empty + " does not contain libllama.v0.5.0.so"), none.err());
        Path installed = Path.of("..").toAbsolutePath().normalize()
                .resolve("test-support/llamacpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
        Assumptions.assumeTrue(java.nio.file.Files.isDirectory(installed), "node-llama-cpp's CPU build not at " + installed);
        assertEquals(ok(generate()).out(), ok(generate("--backend", "llamacpp", "--llama-lib", installed.toString())).out());
    }

    /** --gpu-layers acts on llama.cpp (a CPU build has no GPU: the same text), and is refused where nothing runs there. */
    @Test
    void gpuLayersAreForLlamaCppModels() {
        StrategyCliTest.Result engine = generate("--gpu-layers", "-1");
        assertEquals(2, engine.exit(), engine.err());
        assertTrue(engine.err().contains("--gpu-layers applies to models on llama.cpp, and none runs there"), engine.err());
        StrategyCliTest.Result bad = generate("--backend", "llamacpp", "--gpu-layers", "-2");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--gpu-layers must be >= -1"), bad.err());
        requireLibrary();
        assertEquals(ok(generate()).out(), ok(generate("--backend", "llamacpp", "--gpu-layers", "-1")).out());
    }

    /** bench --batch and --vs-llamacpp on the backend: the prompt computed once, llama.cpp's figures beside ours. */
    @Test
    void benchBatchAgainstLlamaCppOnTheBackend() throws Exception {
        requireLibrary();
        JsonNode o = read(ok(StrategyCliTest.run("bench", "-m", STORIES, "--backend", "llamacpp", "--prompt-tokens", "8",
                "--gen-tokens", "4", "--repetitions", "1", "--threads", "1", "--batch", "4", "--vs-llamacpp", "--json")).out());
        assertEquals("llamacpp", o.path("backend").asText());
        assertEquals(4, o.path("batch").asInt());
        assertEquals(8, o.path("batch_prompt_tokens_processed").asInt(), "the prompt is computed once for 4 sequences");
        assertTrue(o.path("batch_decode_tokens_per_s").asDouble() > 0, o.toString());
        assertTrue(o.path("llamacpp").path("batch_decode_tokens_per_s").asDouble() > 0, o.toString());
        assertTrue(o.path("llamacpp").path("decode_tokens_per_s").asDouble() > 0, o.toString());
        assertTrue(o.path("batch_ratio").asDouble() > 0, o.toString());
        JsonNode sampled = o.path("llamacpp_profile").path("sampled");
        assertEquals(4, sampled.path("tokens").asInt(), o.toString());
        assertTrue(sampled.path("llama_decode_ms_per_token").asDouble() > 0, o.toString());
    }

    @Test
    void benchAndChatRunOnLlamaCpp() throws Exception {
        requireLibrary();
        StrategyCliTest.Result bench = ok(StrategyCliTest.run("bench", "-m", STORIES, "--backend", "llamacpp", "--prompt-tokens", "8",
                "--gen-tokens", "4", "--repetitions", "1", "--threads", "1", "--json"));
        JsonNode o = read(bench.out());
        assertEquals("llamacpp", o.path("backend").asText());
        assertTrue(o.path("decode_tokens_per_s").asDouble() > 0, bench.out());
        CliTest.Result chat = CliTest.runWithInput("Hello\n/exit\n", "chat", "-m", STORIES, "--backend", "llamacpp",
                "--temperature", "0", "-n", "8", "--threads", "1");
        assertEquals(0, chat.exit(), chat.err());
        assertTrue(chat.err().contains("has no chat template"), chat.err());
    }

    @Test
    void chatReadsTheTemplateFromTheGgufFile(@TempDir Path dir) {
        requireLibrary();
        Path shared = StrategyCliTest.STORIES.getParent().getParent();
        Path phi3 = dir.resolve("tiny-phi3-vocab.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").context(512)
                .tokenizerFrom(shared.resolve("tokenizers/ggml-vocab-phi-3.gguf")).seed(3).build().write(phi3);
        CliTest.Result engine = CliTest.runWithInput("Hi\n/exit\n", "chat", "-m", phi3.toString(), "--temperature", "0", "-n", "6", "--threads", "1");
        CliTest.Result llama = CliTest.runWithInput("Hi\n/exit\n", "chat", "-m", phi3.toString(), "--backend", "llamacpp",
                "--temperature", "0", "-n", "6", "--threads", "1");
        assertEquals(0, engine.exit(), engine.err());
        assertEquals(0, llama.exit(), llama.err());
        assertTrue(llama.err().contains("(template: tiny-phi3-vocab.gguf (tokenizer.chat_template)"), llama.err());
        assertFalse(llama.err().contains("has no chat template"), llama.err());
        assertEquals(engine.out(), llama.out());
    }

    @Test
    void evalRunsOnLlamaCpp(@TempDir Path dir) throws Exception {
        requireLibrary();
        Path data = EvalCliTest.dataset(dir);
        String greedy = "{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"lexical\"},\"inner\":{\"type\":\"greedy\"}}";
        JsonNode[] points = new JsonNode[2];
        String[] backends = {"pure-java", "llamacpp"};
        for (int i = 0; i < 2; i++) {
            StrategyCliTest.Result r = ok(StrategyCliTest.run("eval", "-m", STORIES, "--backend", backends[i], "--dataset", data.toString(),
                    "--task", "lexical", "--strategy", greedy, "--budgets", "1,2", "-n", "8", "--limit", "2",
                    "--out", dir.resolve(backends[i]).toString(), "--no-progress", "--json", "--threads", "1"));
            points[i] = read(r.out()).path("points");
        }
        assertEquals(2, points[0].size());
        assertEquals(points[0].size(), points[1].size());
        for (int i = 0; i < points[0].size(); i++) {
            assertEquals(points[0].get(i).path("accuracy").asDouble(), points[1].get(i).path("accuracy").asDouble(), 0.0);
            assertEquals(points[0].get(i).path("mean_generated_tokens"), points[1].get(i).path("mean_generated_tokens"));
        }
        StrategyCliTest.Result remote = StrategyCliTest.run("eval", "--endpoint", "http://127.0.0.1:9/v1", "--backend", "llamacpp",
                "--dataset", data.toString(), "--task", "lexical", "--strategy", greedy, "--out", dir.resolve("r").toString());
        assertEquals(2, remote.exit(), remote.err());
        assertTrue(remote.err().contains("--backend picks where local models run"), remote.err());
    }

    private static JsonNode read(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }
}
