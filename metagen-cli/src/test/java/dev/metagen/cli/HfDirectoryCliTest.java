package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.metagen.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** A Hugging Face model directory through the CLI: {@code --model DIR}, {@code inspect DIR} and {@code convert}. */
class HfDirectoryCliTest {
    static final Path TINYSTORIES = SharedData.model("tinystories-656k");

    @TempDir
    Path dir;

    @Test
    void generatesFromTheDirectoryAndFromItsConversionAlike() throws Exception {
        CliTest.Result fromDir = run("generate", "--model", TINYSTORIES.toString(), "--prompt", "", "--temperature", "0",
                "-n", "24", "--json");
        assertEquals(0, fromDir.exit(), fromDir.err());
        JsonNode a = fromDir.json();
        assertTrue(a.get("text").asText().strip().startsWith("Once upon a time, there was a little girl named Lily."),
                a.get("text").asText());

        Path out = dir.resolve("ts.gguf");
        CliTest.Result conv = run("convert", TINYSTORIES.toString(), out.toString(), "--type", "q8_0", "--json");
        assertEquals(0, conv.exit(), conv.err());
        JsonNode c = conv.json();
        assertEquals(Files.size(out), c.get("bytes").asLong());
        assertTrue(c.at("/tensor_types/Q8_0").asInt() > 0 && c.at("/tensor_types/F32").asInt() > 0, conv.out());

        Path f32 = dir.resolve("ts-f32.gguf");
        assertEquals(0, run("convert", TINYSTORIES.toString(), f32.toString(), "--type", "f32").exit());
        CliTest.Result fromFile = run("generate", "--model", f32.toString(), "--prompt", "", "--temperature", "0",
                "-n", "24", "--json");
        assertEquals(0, fromFile.exit(), fromFile.err());
        assertEquals(a.get("tokens"), fromFile.json().get("tokens"));

        CliTest.Result again = run("convert", TINYSTORIES.toString(), out.toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("exists (use --force to overwrite)"), again.err());
        CliTest.Result badType = run("convert", TINYSTORIES.toString(), dir.resolve("x.gguf").toString(), "--type", "q4_0");
        assertEquals(1, badType.exit());
        assertEquals(1, badType.err().strip().lines().count(), badType.err());
        assertTrue(badType.err().contains("--type must be one of f32, f16, bf16, q8_0, got 'q4_0'"), badType.err());
        CliTest.Result notDir = run("convert", f32.toString(), dir.resolve("y.gguf").toString());
        assertEquals(1, notDir.exit());
        assertTrue(notDir.err().contains("is not a directory"), notDir.err());
    }

    @Test
    void inspectShowsTheConvertersMetadataAndLlamaCppRefusesADirectory() throws Exception {
        CliTest.Result r = run("inspect", TINYSTORIES.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals("llama", j.at("/metadata/general.architecture").asText());
        assertEquals(128, j.at("/metadata/llama.embedding_length").asInt());
        assertEquals(16, j.at("/metadata/llama.rope.dimension_count").asInt());
        assertEquals("llama", j.at("/metadata/tokenizer.ggml.model").asText());
        CliTest.Result text = run("inspect", TINYSTORIES.toString());
        assertTrue(text.out().contains("Hugging Face model directory"), text.out());

        CliTest.Result llama = run("generate", "--backend", "llamacpp", "--model", TINYSTORIES.toString(), "--prompt", "x", "-n", "2");
        assertEquals(1, llama.exit());
        assertEquals(1, llama.err().strip().lines().count(), llama.err());
        assertTrue(llama.err().contains("llama.cpp loads GGUF files, not model directories"), llama.err());

        CliTest.Result missing = run("generate", "--model", dir.toString(), "--prompt", "x", "-n", "2");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no config.json"), missing.err());
    }
}
