package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI contracts of docs/design.md section 5, run in-process on the real stories260K model. */
class CliTest {
    static Path shared;
    static Path stories;
    @TempDir
    static Path home;

    record Result(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return Json.MAPPER.readTree(out);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        shared = SharedData.root();
        stories = shared.resolve("models/stories260K.gguf");
        Path cached = home.resolve("models/ggml-org/tiny-llamas/stories260K.gguf");
        Files.createDirectories(cached.getParent());
        Files.copy(stories, cached);
        System.setProperty("metagen.home", home.toString());
    }

    @AfterAll
    static void tearDown() {
        System.clearProperty("metagen.home");
    }

    static Result run(String... args) {
        return runWithInput(null, args);
    }

    static synchronized Result runWithInput(String stdin, String... args) {
        CommandLine cl = MetagenCommand.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        InputStream oldIn = System.in;
        try {
            if (stdin != null) {
                System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            }
            int code = cl.execute(args);
            return new Result(code, out.toString(), err.toString());
        } finally {
            System.setIn(oldIn);
        }
    }

    /** The first {@code n} golden greedy ids after BOS from shared/models/README.md. */
    static int[] golden(int n) throws Exception {
        String readme = Files.readString(shared.resolve("models/README.md"));
        int start = readme.indexOf("These are the first 256 generated token ids after BOS");
        Matcher block = Pattern.compile("```\\s*\\n([\\d\\s]+)```").matcher(readme);
        assertTrue(block.find(start), "golden block in README");
        List<Integer> ids = new ArrayList<>();
        for (String t : block.group(1).trim().split("\\s+")) {
            ids.add(Integer.parseInt(t));
        }
        assertEquals(256, ids.size());
        return ids.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void generateJsonHasTheContractFieldsAndGreedyMatchesTheGoldenSequence() throws Exception {
        // empty prompt + BOS = the golden run's input
        Result r = run("generate", "--model", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "48", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        int[] tokens = Json.MAPPER.treeToValue(j.get("tokens"), int[].class);
        assertArrayEquals(golden(48), tokens);
        assertTrue(j.get("text").asText().startsWith(" Once upon a time"), j.get("text").asText());
        assertEquals("length", j.get("finish_reason").asText());
        assertEquals(1, j.at("/usage/prompt_tokens").asInt());
        assertEquals(48, j.at("/usage/completion_tokens").asInt());
        assertTrue(j.at("/timings/prefill_tokens_per_s").asDouble() > 0);
        assertTrue(j.at("/timings/decode_tokens_per_s").asDouble() > 0);
        assertEquals(48, j.get("logprobs").size());
    }

    @Test
    void generateWithTheDefaultModelStreamsTextAndIsReproducibleWithASeed() {
        Result a = run("generate", "--prompt", "Once upon a time", "-n", "24", "--seed", "7");
        Result b = run("generate", "--prompt", "Once upon a time", "-n", "24", "--seed", "7");
        assertEquals(0, a.exit(), a.err());
        assertFalse(a.out().isBlank());
        assertEquals(a.out(), b.out());
        assertTrue(a.err().contains("tokens/s"), a.err());
    }

    @Test
    void speculativeGreedyWithLookupOrADraftMatchesTheGoldenSequence() throws Exception {
        Result lookup = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "48",
                "--lookup", "--lookup-ngram", "2", "--draft-k", "5", "--json");
        assertEquals(0, lookup.exit(), lookup.err());
        assertArrayEquals(golden(48), Json.MAPPER.treeToValue(lookup.json().get("tokens"), int[].class));
        assertTrue(lookup.json().at("/speculative/target_forwards").asInt() <= 48, lookup.out());
        Result text = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "48", "--lookup");
        assertEquals(0, text.exit(), text.err());
        assertEquals(lookup.json().get("text").asText().strip(), text.out().strip(), "the text, printed once");
        Result self = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "48",
                "--draft", stories.toString(), "--json");
        assertEquals(0, self.exit(), self.err());
        assertArrayEquals(golden(48), Json.MAPPER.treeToValue(self.json().get("tokens"), int[].class));
        assertEquals(1.0, self.json().at("/speculative/acceptance_rate").asDouble());
        Result both = run("generate", "-m", stories.toString(), "--prompt", "x", "--lookup", "--draft", stories.toString());
        assertTrue(both.exit() != 0 && both.err().contains("only one of --draft and --lookup"), both.err());
    }

    @Test
    void everyCommandHasHelpAndTheSamplingCommandsShareTheirFlags() {
        for (String command : List.of("generate", "chat", "tokenize", "inspect", "synth", "quantize", "bench", "eval", "serve")) {
            Result r = run(command, "--help");
            assertEquals(0, r.exit(), command + ": " + r.err());
            assertTrue(r.out().contains("--help"), command + ": " + r.out());
        }
        for (String command : List.of("generate", "chat")) {
            String help = run(command, "--help").out();
            for (String flag : List.of("--temperature", "--top-n-sigma", "--xtc-probability", "--dry-base", "--min-tokens", "--seed")) {
                assertTrue(help.contains(flag), command + " lacks " + flag);
            }
        }
    }

    @Test
    void stopStringEndsGeneration() throws Exception {
        Result r = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "100",
                "--stop", "Lily", "--json");
        assertEquals(0, r.exit(), r.err());
        assertEquals("stop", r.json().get("finish_reason").asText());
        assertEquals(" Once upon a time, there was a little girl named ", r.json().get("text").asText());
    }

    @Test
    void tokenizeJsonAndJsonl() throws Exception {
        Result r = run("tokenize", "-m", stories.toString(), "--text", "Once upon a time", "--json");
        assertEquals(0, r.exit(), r.err());
        int[] ids = Json.MAPPER.treeToValue(r.json().get("ids"), int[].class);
        assertTrue(ids.length > 0 && ids[0] == 403, "starts with ▁Once = 403: " + java.util.Arrays.toString(ids));
        Result withBos = run("tokenize", "-m", stories.toString(), "--text", "Once upon a time", "--json", "--add-special");
        assertEquals(1, withBos.json().get("ids").get(0).asInt());
        Result lines = runWithInput("\"Once upon a time\"\n\"\"\n", "tokenize", "-m", stories.toString(), "--jsonl");
        assertEquals(0, lines.exit(), lines.err());
        String[] out = lines.out().strip().split("\n");
        assertEquals(2, out.length);
        assertEquals(r.out().strip(), out[0]);
        assertEquals("{\"ids\":[]}", out[1]);
        Result bad = runWithInput("not json\n", "tokenize", "-m", stories.toString(), "--jsonl");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("line 1"), bad.err());
    }

    @Test
    void tokenizeWorksOnTokenizerOnlyDirectories(@TempDir Path dir) throws Exception {
        // only the tokenizer files of TinyStories-656K; ids as Hugging Face's tokenizers give them
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(shared.resolve("models/tinystories-656k/" + f), dir.resolve(f));
        }
        String text = "Once upon a time, there was a little girl named Lily.";
        Result r = run("tokenize", "-m", dir.toString(), "--text", text, "--json");
        assertEquals(0, r.exit(), r.err());
        assertEquals("[80,147,201,282,215,286,598,629,10]", r.json().get("ids").toString());
        Result special = run("tokenize", "-m", dir.toString(), "--text", "<|end_story|>", "--json", "--add-special",
                "--parse-special");
        assertEquals("[1,2]", special.json().get("ids").toString());
        Result empty = run("tokenize", "-m", shared.resolve("datasets").toString(), "--text", "x");
        assertEquals(1, empty.exit());
        assertTrue(empty.err().contains("no tokenizer.json"), empty.err());
    }

    @Test
    void tokenizeWorksOnVocabOnlyFiles() throws Exception {
        Result r = run("tokenize", "-m", shared.resolve("tokenizers/ggml-vocab-gpt-2.gguf").toString(), "--text", "Hello world", "--json");
        assertEquals(0, r.exit(), r.err());
        assertEquals("[15496,995]", r.json().get("ids").toString());
    }

    @Test
    void inspectPrintsMetadataAndTensors() throws Exception {
        Result r = run("inspect", stories.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals("llama", j.at("/metadata/general.architecture").asText());
        assertEquals(48, j.get("tensors").size());
        assertEquals(512, j.at("/metadata/tokenizer.ggml.tokens").size());
        Result text = run("inspect", stories.toString());
        assertEquals(0, text.exit());
        assertTrue(text.out().contains("token_embd.weight"));
        assertTrue(text.out().contains("llama.embedding_length"));
    }

    @Test
    void badInputGivesOneLineAndTheRightExitStatus() throws Exception {
        Result missing = run("generate", "-m", "/nonexistent/model.gguf", "--prompt", "x");
        assertEquals(1, missing.exit());
        assertOneLine(missing.err(), "/nonexistent/model.gguf");

        Path truncated = home.resolve("truncated.gguf");
        Files.write(truncated, java.util.Arrays.copyOf(Files.readAllBytes(stories), 5000));
        Result corrupt = run("inspect", truncated.toString());
        assertEquals(1, corrupt.exit());
        assertOneLine(corrupt.err(), "truncated");

        Result vocabOnly = run("generate", "-m", shared.resolve("tokenizers/ggml-vocab-gpt-2.gguf").toString(), "--prompt", "x");
        assertEquals(1, vocabOnly.exit());
        assertOneLine(vocabOnly.err(), "ggml-vocab-gpt-2.gguf");

        Result topP = run("generate", "-m", stories.toString(), "--prompt", "x", "--top-p", "2");
        assertEquals(2, topP.exit());
        assertTrue(topP.err().contains("top-p"), topP.err());
        assertEquals(2, run("generate", "--prompt", "x", "--max-tokens", "-1").exit());
        assertEquals(2, run("generate", "--prompt", "x", "--temperature", "abc").exit());
        assertEquals(2, run("frobnicate").exit());
        assertEquals(2, run("generate").exit()); // --prompt is required
    }

    @Test
    void logprobsFlagAddsTopAlternatives() throws Exception {
        Result r = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "6", "--json", "--logprobs", "3");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals(6, j.get("logprobs").size());
        assertEquals(6, j.get("top_logprobs").size());
        for (int i = 0; i < 6; i++) {
            JsonNode alts = j.get("top_logprobs").get(i);
            assertEquals(3, alts.size());
            // greedy: the chosen token is the most likely alternative, with the same log-probability
            assertEquals(j.get("tokens").get(i).asInt(), alts.get(0).get("token").asInt());
            assertEquals(j.get("logprobs").get(i).asDouble(), alts.get(0).get("logprob").asDouble(), 1e-12);
        }
        assertFalse(run("generate", "-m", stories.toString(), "--prompt", "", "-n", "2", "--json").json().has("top_logprobs"));
    }

    @Test
    void samplingFlagsShapeTheOutput() throws Exception {
        // banning the golden first token (403, "▁Once") makes greedy choose something else
        Result banned = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "4", "--json",
                "--logit-bias", "403=-inf");
        assertEquals(0, banned.exit(), banned.err());
        assertNotEquals(403, banned.json().get("tokens").get(0).asInt());
        Result llamaStyle = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "4", "--json",
                "--logit-bias", "403-inf");
        assertEquals(banned.json().get("tokens"), llamaStyle.json().get("tokens"));
        // a stop token ends generation without being emitted
        int[] golden = golden(8);
        Result stopped = run("generate", "-m", stories.toString(), "--prompt", "", "--temperature", "0", "-n", "8", "--json",
                "--stop-token", String.valueOf(golden[3]));
        assertEquals(3, stopped.json().get("tokens").size());
        assertEquals("stop", stopped.json().get("finish_reason").asText());
        // every adapter flag at once runs, and the seed makes it reproducible
        String[] all = {"generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "16", "--json", "--seed", "5",
                "--temperature", "0.9", "--top-k", "30", "--top-p", "0.9", "--min-p", "0.02", "--typical-p", "0.95",
                "--epsilon", "0.001", "--eta", "0.001", "--top-n-sigma", "3", "--xtc-probability", "0.3", "--xtc-threshold", "0.2",
                "--dry-multiplier", "0.8", "--repeat-penalty", "1.1", "--frequency-penalty", "0.1", "--presence-penalty", "0.1",
                "--repeat-last-n", "32", "--no-repeat-ngram", "3", "--min-tokens", "4", "--dynatemp-range", "0.2",
                "--samplers", "penalties;dry;top_k;typ_p;top_p;min_p;epsilon;eta;top_n_sigma;xtc;temperature"};
        Result a = run(all);
        Result b = run(all);
        assertEquals(0, a.exit(), a.err());
        assertEquals(a.json().get("tokens"), b.json().get("tokens"));
        Result miro = run("generate", "-m", stories.toString(), "--prompt", "Once", "-n", "12", "--json", "--seed", "2", "--mirostat", "2");
        assertEquals(0, miro.exit(), miro.err());
        assertEquals(12, miro.json().get("tokens").size());
    }

    @Test
    void beamFlagsReturnSequences() throws Exception {
        Result r = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "8", "--json",
                "--beams", "4", "--num-return-sequences", "3", "--length-penalty", "0");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals(3, j.get("sequences").size());
        assertEquals(j.get("text").asText(), j.get("sequences").get(0).get("text").asText());
        assertEquals(j.get("tokens"), j.get("sequences").get(0).get("tokens"));
        assertTrue(j.get("sequences").get(0).get("logprob").asDouble() >= j.get("sequences").get(1).get("logprob").asDouble());
        Result diverse = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--json",
                "--beams", "4", "--diverse-groups", "2", "--diversity-penalty", "2", "--num-return-sequences", "4");
        assertEquals(0, diverse.exit(), diverse.err());
        assertEquals(4, diverse.json().get("sequences").size());
        Result sbs = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--json",
                "--stochastic-beams", "3", "--seed", "9");
        assertEquals(0, sbs.exit(), sbs.err());
        assertEquals(3, sbs.json().get("sequences").size());
        Result cs = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--json",
                "--contrastive-alpha", "0.6", "--contrastive-k", "4");
        assertEquals(0, cs.exit(), cs.err());
        assertEquals(6, cs.json().get("tokens").size());
        Result cfg = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--json",
                "--cfg-scale", "1.5", "--seed", "1");
        assertEquals(0, cfg.exit(), cfg.err());
        Result text = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--beams", "2",
                "--num-return-sequences", "2");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("--- sequence 2"), text.out());
    }

    @Test
    void secondModelAdaptersFromTheCommandLine() throws Exception {
        Path amateur = home.resolve("amateur.gguf");
        Result synth = run("synth", "--preset", "tiny-llama", "--tokenizer-from", stories.toString(), "-o", amateur.toString(), "--force");
        assertEquals(0, synth.exit(), synth.err());
        Result cd = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--json",
                "--amateur", amateur.toString(), "--cd-alpha", "0.1", "--temperature", "0");
        assertEquals(0, cd.exit(), cd.err());
        assertEquals(6, cd.json().get("tokens").size());
        Result poe = run("generate", "-m", stories.toString(), "--prompt", "Once upon a time", "-n", "6", "--json",
                "--expert", amateur.toString(), "--expert-weight", "-0.5", "--seed", "3");
        assertEquals(0, poe.exit(), poe.err());
        Result mismatch = run("generate", "-m", stories.toString(), "--prompt", "x", "--expert", amateur.toString(),
                "--expert-weight", "1", "--expert-weight", "2");
        assertEquals(2, mismatch.exit());
        assertTrue(mismatch.err().contains("--expert-weight"), mismatch.err());
        assertEquals(2, run("generate", "-m", stories.toString(), "--prompt", "x", "--amateur", amateur.toString(), "--beams", "2").exit());
    }

    @Test
    void badDecodingFlagsAreUsageErrors() {
        String m = stories.toString();
        Result samplers = run("generate", "-m", m, "--prompt", "x", "--samplers", "top_k;bogus");
        assertEquals(2, samplers.exit());
        assertTrue(samplers.err().contains("bogus"), samplers.err());
        Result beams = run("generate", "-m", m, "--prompt", "x", "--beams", "100");
        assertEquals(2, beams.exit());
        assertTrue(beams.err().contains("beams"), beams.err());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--top-k", "-1").exit());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--min-p", "1.5").exit());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--mirostat", "3").exit());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--logit-bias", "abc").exit());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--beams", "4", "--diverse-groups", "3").exit());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--beams", "4", "--contrastive-alpha", "0.5").exit());
        assertEquals(2, run("generate", "-m", m, "--prompt", "x", "--logprobs", "-1").exit());
        Result vocab = run("generate", "-m", m, "--prompt", "x", "--logit-bias", "9999=1");
        assertEquals(1, vocab.exit());
        assertOneLine(vocab.err(), "9999");
    }

    private static void assertOneLine(String err, String mustContain) {
        assertTrue(err.startsWith("metagen: error: "), err);
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.contains(mustContain), err);
    }
}
