package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code generate --json-schema/--regex/--grammar/--choice} on stories260K, and their one-line errors. */
class ConstrainedGenerateCliTest {
    @TempDir
    Path tmp;

    static Path stories() {
        return SharedData.stories260k();
    }

    @Test
    void regexChoiceGrammarAndSchemaConstrainTheOutput() throws Exception {
        String m = stories().toString();
        CliTest.Result r = CliTest.run("generate", "-m", m, "-p", "Once", "--temperature", "0", "-n", "20", "--json",
                "--regex", "[a-z]+ [0-9]{2}");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertTrue(Pattern.matches("[a-z]+ [0-9]{2}", j.get("text").asText()), j.toString());
        assertEquals("stop", j.get("finish_reason").asText());
        assertTrue(j.get("timings").has("decode_tokens_per_s"));

        r = CliTest.run("generate", "-m", m, "-p", "Once", "--seed", "3", "-n", "10", "--json", "--choice", "yes", "--choice", "no");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.json().get("text").asText().matches("yes|no"), r.out());

        Path g = tmp.resolve("g.gbnf");
        Files.writeString(g, "root ::= \"(\" [a-c]+ \")\"\n");
        r = CliTest.run("generate", "-m", m, "-p", "Once", "--temperature", "0", "-n", "16", "--json", "--grammar", g.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.json().get("text").asText().matches("\\([a-c]+\\)"), r.out());

        Path s = tmp.resolve("s.json");
        Files.writeString(s, "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":9}},\"required\":[\"n\"],\"additionalProperties\":false}");
        r = CliTest.run("generate", "-m", m, "-p", "Once", "--temperature", "0", "-n", "16", "--json", "--json-schema", s.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.json().get("text").asText().matches("\\{\"n\":[1-9]\\}"), r.out());
    }

    @Test
    void constrainedLeafInAStrategySpec() throws Exception {
        String spec = "{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"logprob\"},"
                + "\"inner\":{\"type\":\"constrained\",\"regex\":\"[a-z]{2,6} [0-9]\"}}";
        CliTest.Result r = CliTest.run("generate", "-m", stories().toString(), "-p", "Once", "-n", "12", "--seed", "4",
                "--strategy", spec, "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode o = r.json();
        assertTrue(o.get("text").asText().matches("[a-z]{2,6} [0-9]"), r.out());
        for (JsonNode c : o.get("trace").get("candidates")) {
            assertTrue(c.get("text").asText().matches("[a-z]{2,6} [0-9]"), c.toString());
        }
        String bad = "{\"type\":\"constrained\",\"regex\":\"a\",\"choice\":[\"b\"]}";
        r = CliTest.run("generate", "-m", stories().toString(), "-p", "Once", "--strategy", bad);
        assertTrue(r.exit() != 0);
        assertTrue(r.err().contains("exactly one of"), r.err());
    }

    @Test
    void badConstraintsAreOneLineErrors() throws Exception {
        String m = stories().toString();
        Path s = tmp.resolve("bad.json");
        Files.writeString(s, "{\"type\":\"array\",\"contains\":{}}");
        CliTest.Result r = CliTest.run("generate", "-m", m, "-p", "x", "--json-schema", s.toString());
        assertEquals(1, r.exit());
        assertEquals("metagen: error: JSON Schema keyword at #/contains is not supported: contains", r.err().strip());
        r = CliTest.run("generate", "-m", m, "-p", "x", "--regex", "a(b");
        assertEquals(1, r.exit());
        assertTrue(r.err().strip().startsWith("metagen: error: regex /a(b/"), r.err());
        assertEquals(1, r.err().strip().lines().count());
        r = CliTest.run("generate", "-m", m, "-p", "x", "--regex", "a", "--choice", "b");
        assertEquals(2, r.exit(), "two constraints are a usage error, found before the model is loaded");
        assertTrue(r.err().contains("only one of"), r.err());
    }
}
