package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.llamacpp.LlamaCppModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertEquals(b.path("tokens"), a.path("tokens"));
        assertEquals(b.path("text").asText(), a.path("text").asText());
    }

    @Test
    void strategiesRunUnchangedOnLlamaCpp() {
        requireLibrary();
        String bestOf = "{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"greedy\"}}";
        String engine = ok(generate("--strategy", bestOf)).out();
        assertEquals(engine, ok(generate("--strategy", bestOf, "--backend", "llamacpp")).out());
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
    void serveAnswersTheEnginesCompletion() throws Exception {
        requireLibrary();
        String engine = complete("--backend", "pure-java");
        String llama = complete("--backend", "llamacpp");
        assertFalse(engine.isBlank());
        assertEquals(engine, llama);
    }

    /** Starts {@code serve} in-process with {@code extra}, asks one greedy completion and stops the server. */
    private static String complete(String... extra) throws Exception {
        ServeCommand cmd = new ServeCommand();
        CommandLine cl = new CommandLine(cmd);
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        List<String> args = new ArrayList<>(List.of("--model", STORIES, "--port", "0", "--threads", "1"));
        args.addAll(List.of(extra));
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
        StrategyCliTest.Result bench = StrategyCliTest.run("bench", "-m", STORIES, "--backend", "llamacpp", "--vs-llamacpp");
        assertEquals(2, bench.exit(), bench.err());
        assertTrue(bench.err().contains("--vs-llamacpp applies to the pure-Java engine only"), bench.err());
        StrategyCliTest.Result bad = generate("--backend", "cuda");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--backend must be pure-java or llamacpp, got 'cuda'"), bad.err());
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

    private static JsonNode read(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }
}
