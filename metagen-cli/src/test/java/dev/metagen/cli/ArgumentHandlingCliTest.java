package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How arguments are read: '@' is literal text (except --strategy @FILE), UTF-8 whatever the locale, bounded --threads. */
class ArgumentHandlingCliTest {
    static Path stories;
    @TempDir
    static Path dir;

    record Result(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return Json.MAPPER.readTree(out);
        }
    }

    @BeforeAll
    static void setUp() {
        stories = SharedData.stories260k();
    }

    static synchronized Result run(String stdin, String... args) {
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
            return new Result(cl.execute(args), out.toString(), err.toString());
        } finally {
            System.setIn(oldIn);
        }
    }

    static int[] ids(JsonNode j) {
        return Json.MAPPER.convertValue(j.get("ids"), int[].class);
    }

    @Test
    void anAtSignIsTextNotAnArgumentFile() throws Exception {
        Path greeting = dir.resolve("greeting");
        Files.writeString(greeting, "--json --add-special\n");
        String text = "@" + greeting;
        Result r = run(null, "tokenize", "--model", stories.toString(), "--text", text, "--json");
        assertEquals(0, r.exit(), r.err());
        Result literal = run(Json.MAPPER.writeValueAsString(text) + "\n", "tokenize", "--model", stories.toString(), "--jsonl");
        assertEquals(0, literal.exit(), literal.err());
        assertArrayEquals(ids(literal.json()), ids(r.json()));
        Result missing = run(null, "tokenize", "--model", stories.toString(), "--text", "@greeting", "--json");
        assertEquals(0, missing.exit(), missing.err());
    }

    @Test
    void strategyAtFileReadsTheFile() throws Exception {
        Path spec = dir.resolve("spec.json");
        Files.writeString(spec, "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"sample\"}}");
        Result r = run(null, "generate", "--model", stories.toString(), "--prompt", "Once", "-n", "4", "--seed", "1", "--json",
                "--strategy", "@" + spec);
        assertEquals(0, r.exit(), r.err());
        assertEquals("best_of_n", r.json().get("strategy").asText());
        Result plain = run(null, "generate", "--model", stories.toString(), "--prompt", "Once", "-n", "4", "--seed", "1", "--json",
                "--strategy", spec.toString());
        assertEquals(r.json().get("text"), plain.json().get("text"), "@FILE and FILE are the same spec");
        Result none = run(null, "generate", "--model", stories.toString(), "--prompt", "Once", "--strategy", "@" + dir.resolve("nope.json"));
        assertEquals(2, none.exit());
        assertTrue(none.err().contains("cannot read strategy file " + dir.resolve("nope.json") + " (no such file"), none.err());
    }

    @Test
    void threadsAreBoundedInEveryCommand() throws Exception {
        String m = stories.toString();
        Path data = dir.resolve("data.jsonl");
        Files.writeString(data, "{\"id\":\"1\",\"prompt\":\"x\",\"words\":[\"x\"]}\n");
        List<String[]> commands = List.of(
                new String[] {"generate", "--model", m, "--prompt", "x"},
                new String[] {"chat", "--model", m},
                new String[] {"serve", "--model", m, "--port", "0"},
                new String[] {"bench", "--model", m},
                new String[] {"eval", "--model", m, "--dataset", data.toString(), "--task", "lexical", "--strategy", "{\"type\":\"greedy\"}",
                        "--out", dir.resolve("eval").toString()},
                new String[] {"quantize", m, dir.resolve("q.gguf").toString(), "--type", "Q8_0"});
        int max = Runtime.getRuntime().availableProcessors() * ThreadsOption.PER_PROCESSOR;
        for (String[] c : commands) {
            for (String bad : new String[] {"1000000", "-1", String.valueOf(max + 1)}) {
                List<String> args = new ArrayList<>(List.of(c));
                args.add("--threads");
                args.add(bad);
                Result r = run("", args.toArray(String[]::new));
                assertEquals(2, r.exit(), c[0] + " --threads " + bad + ": " + r.err());
                assertTrue(r.err().startsWith("metagen: --threads must be between 1 and " + max + " (4 x the "
                        + Runtime.getRuntime().availableProcessors() + " available processors), or 0 for all processors; got " + bad), r.err());
            }
        }
        assertEquals(0, run(null, "tokenize", "--model", m, "--text", "x").exit(), "tokenize has no --threads to check");
        Result ok = run(null, "generate", "--model", m, "--prompt", "x", "-n", "2", "--threads", String.valueOf(max));
        assertEquals(0, ok.exit(), ok.err());
    }

    @Test
    void contextLengthIsCheckedAgainstTheModel() {
        Result r = run(null, "generate", "--model", stories.toString(), "--prompt", "x", "--ctx", "100000");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("metagen: error: ") && r.err().contains("requested context length 100000 exceeds the model's context_length"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Result neg = run(null, "chat", "--model", stories.toString(), "--ctx", "-5");
        assertEquals(2, neg.exit());
        assertTrue(neg.err().startsWith("metagen: --ctx must be >= 0 (0 = the model's), got -5"), neg.err());
    }

    /** Runs the CLI in a fresh JVM with the given locale variables (LC_ALL, LC_CTYPE and LANG removed first). */
    static Result subprocess(String lang, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("LC_ALL");
        pb.environment().remove("LC_CTYPE");
        pb.environment().remove("LANG");
        if (lang != null) {
            pb.environment().put("LANG", lang);
        }
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI finished");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void nonAsciiArgumentsAndOutputSurviveACLocale() throws Exception {
        String text = "héllo ☃";
        Result utf8 = run(null, "tokenize", "--model", stories.toString(), "--text", text, "--json");
        assertEquals(0, utf8.exit(), utf8.err());
        for (String lang : new String[] {"C", null}) {
            Result c = subprocess(lang, "tokenize", "--model", stories.toString(), "--text", text, "--json");
            assertEquals(0, c.exit(), c.err());
            assertArrayEquals(ids(utf8.json()), ids(c.json()), "LANG=" + lang);
            // the argument comes back on stderr in an error message: decoded and written as UTF-8
            Result e = subprocess(lang, "tokenize", "--model", "hf:o/r/" + text + ".gguf", "--text", "x");
            assertEquals(1, e.exit(), e.err());
            assertTrue(e.err().contains("hf:o/r/" + text + ".gguf"), "LANG=" + lang + ": " + e.err());
        }
    }

    @Test
    void argumentsAreRecoveredOnlyWhenTheCommandLineMatches() {
        byte[] cmdline = "java\0-jar\0m.jar\0--text\0h\u00c3\u00a9llo\0".getBytes(StandardCharsets.ISO_8859_1);
        String[] decoded = {"--text", "h\ufffd\ufffdllo"};
        assertArrayEquals(new String[] {"--text", "héllo"}, Main.recover(decoded, cmdline, StandardCharsets.US_ASCII));
        String[] other = {"--text", "something else"};
        assertArrayEquals(other, Main.recover(other, cmdline, StandardCharsets.US_ASCII));
    }
}
