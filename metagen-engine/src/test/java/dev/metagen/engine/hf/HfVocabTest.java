package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.MetagenException;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.gguf.GgufValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The vocabulary arrays {@link HfVocab} writes, as llama.cpp's converter writes them. */
class HfVocabTest {
    @TempDir
    Path tmp;

    @Test
    void tinyStoriesIsSentencePieceStyleAsLlamaHfVocabWritesIt() {
        Path dir = SharedData.model("tinystories-656k");
        Map<String, GgufValue> md = HfVocab.read(dir, HfJson.read(dir.resolve("config.json")), false);
        assertEquals("llama", md.get("tokenizer.ggml.model").value());
        assertEquals("default", md.get("tokenizer.ggml.pre").value());
        String[] tokens = (String[]) md.get("tokenizer.ggml.tokens").value();
        float[] scores = (float[]) md.get("tokenizer.ggml.scores").value();
        int[] types = (int[]) md.get("tokenizer.ggml.token_type").value();
        assertEquals(2048, tokens.length);
        assertEquals("<|start_story|>", tokens[1]);
        assertEquals("\n", tokens[3], "tokens in id order");
        for (float s : scores) {
            assertEquals(-1000f, s, "LlamaHfVocab gives every token the score -1000");
        }
        // the special tokens of tokenizer_config.json (unk, bos, eos, pad) are CONTROL, every other token NORMAL
        assertArrayEquals(new int[]{3, 3, 3, 1, 1}, java.util.Arrays.copyOf(types, 5));
        assertEquals(2045, java.util.Arrays.stream(types).filter(t -> t == HfVocab.NORMAL).count());
        assertEquals(1, ((Number) md.get("tokenizer.ggml.bos_token_id").value()).intValue());
        assertEquals(2, ((Number) md.get("tokenizer.ggml.eos_token_id").value()).intValue());
        assertEquals(0, ((Number) md.get("tokenizer.ggml.unknown_token_id").value()).intValue());
        assertEquals(0, ((Number) md.get("tokenizer.ggml.padding_token_id").value()).intValue());
        assertEquals(true, md.get("tokenizer.ggml.add_bos_token").value());
        assertEquals(false, md.get("tokenizer.ggml.add_eos_token").value());
        assertNull(md.get("tokenizer.ggml.merges"), "no merges for the llama model");
        assertNull(md.get("tokenizer.chat_template"));
    }

    @Test
    void byteLevelVocabularyFillsGapsEncodesSpacesInMergesAndNamesThePreTokenizer() throws IOException {
        Path dir = tmp.resolve("bpe");
        Files.createDirectories(dir);
        List<String[]> merges = new ArrayList<>();
        List<String> vocab = HfDirectoryWriter.byteLevelVocab(merges);
        ObjectNode tok = HfDirectoryWriter.JSON.createObjectNode();
        tok.putArray("added_tokens").addObject().put("id", vocab.size() + 2).put("content", "<|im_end|>").put("special", false);
        ObjectNode pre = tok.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("use_regex", true);
        tok.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = tok.putObject("model");
        model.put("type", "BPE");
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < vocab.size(); i++) {
            v.put(vocab.get(i), i);
        }
        model.putArray("merges").add("Ġ t").addArray().add("a b").add("c");
        Files.writeString(dir.resolve("tokenizer.json"), tok.toString());
        JsonNode config = HfDirectoryWriter.JSON.readTree("{\"vocab_size\": " + (vocab.size() + 4) + ", \"eos_token_id\": "
                + (vocab.size() + 2) + "}");
        Map<String, GgufValue> md = HfVocab.read(dir, config, true);
        assertEquals("gpt2", md.get("tokenizer.ggml.model").value());
        assertEquals("gpt-2", md.get("tokenizer.ggml.pre").value());
        String[] tokens = (String[]) md.get("tokenizer.ggml.tokens").value();
        int[] types = (int[]) md.get("tokenizer.ggml.token_type").value();
        assertEquals(vocab.size() + 4, tokens.length, "config.json's vocab_size rows");
        assertEquals("[PAD" + vocab.size() + "]", tokens[vocab.size()]);
        assertEquals(HfVocab.UNUSED, types[vocab.size()]);
        assertEquals("<|im_end|>", tokens[vocab.size() + 2]);
        assertEquals(HfVocab.CONTROL, types[vocab.size() + 2], "looks special: <|...|>");
        assertArrayEquals(new String[]{"Ġ t", "aĠb c"}, (String[]) md.get("tokenizer.ggml.merges").value(),
                "a space inside a merge pair is written as U+0120");
        assertEquals(vocab.size() + 2, ((Number) md.get("tokenizer.ggml.eos_token_id").value()).intValue());

        // an unknown split expression is refused, as the converter refuses an unknown pre-tokenizer hash
        tok.putObject("pre_tokenizer").put("type", "Split").putObject("pattern").put("Regex", "\\w+");
        Files.writeString(dir.resolve("tokenizer.json"), tok.toString());
        MetagenException e = assertThrows(MetagenException.class, () -> HfVocab.read(dir, config, true));
        assertTrue(e.getMessage().contains("pre-tokenizer is not recognised"), e.getMessage());
    }
}
