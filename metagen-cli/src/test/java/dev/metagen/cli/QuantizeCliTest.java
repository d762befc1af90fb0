package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.metagen.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code metagen quantize}: sizes, the greedy check against the source, and its one-line errors. */
class QuantizeCliTest {
    @TempDir
    Path dir;

    @Test
    void quantizesAndReportsGreedyAgreement() throws Exception {
        Path src = dir.resolve("src.gguf");
        CliTest.Result synth = run("synth", "--preset", "tiny-qwen3", "--embd", "256", "--heads", "8", "--head-dim", "32",
                "--ffn", "512", "-o", src.toString());
        assertEquals(0, synth.exit(), synth.err());

        Path q8 = dir.resolve("q8.gguf");
        CliTest.Result r = run("quantize", src.toString(), q8.toString(), "--type", "q8_0", "--check-tokens", "12",
                "-t", "1", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals("Q8_0", j.get("type").asText());
        assertEquals(Files.size(src), j.get("input_bytes").asLong());
        assertEquals(Files.size(q8), j.get("output_bytes").asLong());
        assertTrue(j.get("output_bytes").asLong() < j.get("input_bytes").asLong() / 3, r.out());
        assertTrue(j.get("tensor_types").has("Q8_0") && j.get("tensor_types").has("F32"), r.out());
        JsonNode check = j.get("check");
        assertEquals(12, check.get("tokens").asInt());
        int agreeing = check.get("agreeing").asInt();
        assertTrue(agreeing >= 0 && agreeing <= 12, r.out());
        double dp = check.get("max_prob_diff").asDouble();
        assertTrue(dp > 0 && dp < 1, r.out());

        // plain text, no check; the existing output needs --force
        CliTest.Result exists = run("quantize", src.toString(), q8.toString(), "--type", "Q4_K_M");
        assertEquals(1, exists.exit());
        assertTrue(exists.err().contains("exists (use --force"), exists.err());
        CliTest.Result text = run("quantize", src.toString(), q8.toString(), "--type", "Q4_K_M", "--force",
                "--check-tokens", "0");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().startsWith("wrote " + q8 + " (Q4_K_M): "), text.out());
        assertFalse(text.out().contains("greedy"), text.out());
        CliTest.Result checked = run("quantize", src.toString(), dir.resolve("q6.gguf").toString(), "--type", "Q6_K",
                "--check-tokens", "4", "-t", "1");
        assertEquals(0, checked.exit(), checked.err());
        assertTrue(checked.out().matches("(?s).*greedy from BOS: \\d of 4 leading tokens agree.*"), checked.out());
    }

    @Test
    void alreadyQuantizedInputAndBadTypesFailWithOneLine() {
        Path src = dir.resolve("q.gguf");
        assertEquals(0, run("synth", "--preset", "tiny-llama", "--type", "Q8_0", "-o", src.toString()).exit());
        CliTest.Result again = run("quantize", src.toString(), dir.resolve("out.gguf").toString(), "--type", "Q4_0");
        assertEquals(1, again.exit());
        assertEquals(1, again.err().strip().lines().count(), again.err());
        assertTrue(again.err().contains("already quantized: tensor token_embd.weight is Q8_0"), again.err());
        assertFalse(Files.exists(dir.resolve("out.gguf")));

        CliTest.Result type = run("quantize", src.toString(), dir.resolve("out.gguf").toString(), "--type", "Q3_K");
        assertEquals(1, type.exit());
        assertTrue(type.err().contains("unsupported tensor type 'Q3_K'"), type.err());
        assertEquals(2, run("quantize", src.toString()).exit()); // OUT.gguf and --type missing
        assertEquals(2, run("quantize", src.toString(), "o.gguf", "--type", "Q8_0", "--check-tokens", "-1").exit());
        CliTest.Result missing = run("quantize", dir.resolve("nope.gguf").toString(), dir.resolve("o.gguf").toString(),
                "--type", "Q8_0");
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
    }
}
