package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import dev.metagen.core.StreamingDecoder;
import dev.metagen.core.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HfTokenizer} and {@link HfTokenizerFiles} behaviour beyond the goldens: the tokenizer_config.json special
 * tokens and chat template, parseSpecial=false, tokenBytes against decode, and agreement with the llama.cpp-style
 * byte-level tokenizer built over the same vocabulary and merges.
 */
class HfTokenizerTest {
    private static final List<String> TEXTS = List.of("Hello world", "  leading and trailing  ", "line\n\nbreaks\r\n",
            "naïve café 日本語 😀👍🏽", "x = f(1234567) + y['k']", "I'm sure they'll've", "\t\ttabs", "e\u0301");

    private static final HfTokenizerFiles LLAMA3 = HfTokenizerConformanceTest.llama3Files();
    private static final HfTokenizerFiles QWEN3 = HfTokenizerConformanceTest.qwen3Files();

    @Test
    void tinyStoriesConfig() {
        HfTokenizerFiles f = HfTokenizerConformanceTest.tinyStories();
        assertEquals(1, f.bos());
        assertEquals(2, f.eos());
        assertTrue(f.addBos());
        assertEquals(null, f.chatTemplate());
        Tokenizer t = f.tokenizer();
        assertEquals(2048, t.vocabSize());
        assertEquals(1, t.special().bos());
        assertEquals(2, t.special().eos());
        assertEquals(0, t.special().unk());
        assertTrue(t.special().addBos());
        assertTrue(t.special().isEndOfGeneration(2));
        assertEquals(1, t.encode("Once", true)[0]);
        assertEquals(t.encode("Once", false).length + 1, t.encode("Once", true).length);
    }

    @Test
    void llama3AndQwen3Config() {
        assertEquals(128000, LLAMA3.bos());
        assertEquals(128001, LLAMA3.eos());
        assertFalse(LLAMA3.addBos(), "this tokenizer.json's post-processor adds nothing and the config has no add_bos_token");
        assertTrue(LLAMA3.chatTemplate().contains("<|start_header_id|>"));
        assertTrue(LLAMA3.tokenizer().special().isEndOfGeneration(LLAMA3.tokenizer().id("<|eot_id|>")));
        assertEquals(-1, QWEN3.bos());
        assertEquals(151645, QWEN3.eos());
        assertEquals(151643, QWEN3.tokenizer().special().pad());
        assertFalse(QWEN3.addBos());
        assertTrue(QWEN3.chatTemplate().contains("<|im_start|>"));
        assertTrue(QWEN3.tokenizer().special().isEndOfGeneration(151643), "<|endoftext|> ends generation too");
    }

    @Test
    void parseSpecialFalseLeavesSpecialTokensAsText() {
        HfTokenizer q = QWEN3.tokenizer();
        String text = "<|im_start|>user<|im_end|> <tool_call>";
        int[] parsed = q.encode(text, false, true);
        assertEquals(151644, parsed[0]);
        int[] plain = q.encode(text, false, false);
        assertTrue(Arrays.stream(plain).noneMatch(id -> id == 151644 || id == 151645), Arrays.toString(plain));
        assertEquals(151657, plain[plain.length - 1], "non-special added tokens are always recognised");
        assertEquals(text, q.decode(plain));
        assertEquals("user <tool_call>", q.decode(parsed), "special tokens decode to nothing");
    }

    @Test
    void tokenBytesSpellDecode() {
        for (HfTokenizer t : List.of(LLAMA3.tokenizer(), QWEN3.tokenizer(), HfTokenizerConformanceTest.tinyStories().tokenizer())) {
            for (String s : TEXTS) {
                int[] ids = t.encode(s, true, true);
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                StreamingDecoder stream = t.streamingDecoder();
                StringBuilder streamed = new StringBuilder();
                for (int id : ids) {
                    all.writeBytes(t.tokenBytes(id));
                    streamed.append(stream.accept(id));
                }
                streamed.append(stream.flush());
                String concatenated = all.toString(StandardCharsets.UTF_8);
                String decoded = t.decode(ids);
                // SentencePiece-style decoders drop the one leading space the normalizer added
                assertEquals(decoded, concatenated.startsWith(" ") && !decoded.startsWith(concatenated)
                        ? concatenated.substring(1) : concatenated, t + ": " + s);
                assertEquals(concatenated, streamed.toString());
                if (Arrays.stream(ids).anyMatch(id -> id == t.special().unk())) {
                    continue; // TinyStories has no byte tokens: what its vocabulary lacks is <unk>, a special token
                }
                // Qwen's tokenizer.json normalizes to NFC
                assertEquals(t == QWEN3.tokenizer() ? java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFC) : s,
                        decoded, t + " round trip");
            }
        }
    }

    @Test
    void agreesWithLlamaCppStyleTokenizerOnSameVocabulary() throws Exception {
        for (var e : Map.of("llama3", LLAMA3.tokenizer(), "qwen2", QWEN3.tokenizer()).entrySet()) {
            HfTokenizer hf = e.getValue();
            Tokenizer cpp = llamaCppStyle(hf, e.getKey());
            Path goldens = HfTokenizerConformanceTest.resources(e.getKey().equals("qwen2") ? "qwen3" : "llama3")
                    .resolve("goldens.jsonl");
            int n = 0;
            for (String line : Files.readAllLines(goldens)) {
                String text = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("text").asText();
                if (text.contains("</s>")) {
                    continue; // llama.cpp makes "</s>" a control token by its text, in every vocabulary
                }
                // llama.cpp does not run Qwen's NFC normalizer: give it normalized text
                String input = e.getKey().equals("qwen2") ? java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC) : text;
                assertArrayEquals(cpp.encode(input, false, true), hf.encode(text, false, true), e.getKey() + ": " + text);
                n++;
            }
            assertTrue(n >= 300);
        }
    }

    /** The GGUF byte-level BPE tokenizer (llama.cpp's algorithm) over the vocabulary and merges of {@code hf}. */
    static Tokenizer llamaCppStyle(HfTokenizer hf, String pre) {
        HfTokenizer.GgufVocab v = hf.ggufVocab();
        PreTokenizer.Spec spec = PreTokenizer.spec(pre);
        Vocabulary vocab = new Vocabulary(new Vocabulary.Metadata("same vocabulary as " + hf, v.tokens(), null,
                v.tokenTypes(), pre, 11, 11, -1, -1, Map.of(), false, false, false, false, false));
        return new ByteLevelBpeTokenizer(vocab, v.merges(), new PreTokenizer(spec.regexes()), spec.ignoreMerges());
    }

    @Test
    void refusesWhatItDoesNotImplement(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}");
        MetagenException e = assertThrows(MetagenException.class, () -> HfTokenizerFiles.load(dir));
        assertTrue(e.getMessage().contains("unsupported tokenizer model type 'Unigram'"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1},"
                + " \"merges\": [\"a b\"]}}");
        e = assertThrows(MetagenException.class, () -> HfTokenizerFiles.load(dir));
        assertTrue(e.getMessage().contains("model.merges[0] = 'a b' makes 'ab', which is not in model.vocab"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
                + " \"normalizer\": {\"type\": \"Precompiled\"}}");
        e = assertThrows(MetagenException.class, () -> HfTokenizerFiles.load(dir));
        assertTrue(e.getMessage().contains("unsupported normalizer type 'Precompiled'"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        e = assertThrows(MetagenException.class, () -> HfTokenizerFiles.load(dir));
        assertTrue(e.getMessage().contains("eos_token '</s>' is not a token of tokenizer.json"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"a\"},"
                + " \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}");
        HfTokenizerFiles f = HfTokenizerFiles.load(dir);
        assertEquals(0, f.eos());
        assertEquals("D", f.chatTemplate());
        Files.writeString(dir.resolve("chat_template.jinja"), "J");
        assertEquals("J", HfTokenizerFiles.load(dir).chatTemplate());
        assertNotNull(f.tokenizer());
        Files.delete(dir.resolve("tokenizer.json"));
        e = assertThrows(MetagenException.class, () -> HfTokenizerFiles.load(dir));
        assertTrue(e.getMessage().contains("no tokenizer.json"), e.getMessage());
    }
}
