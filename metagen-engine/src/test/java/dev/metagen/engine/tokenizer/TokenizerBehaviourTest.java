package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import dev.metagen.core.SpecialTokens;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Special ids and flags from metadata, special-token parsing, errors, and speed on long inputs. */
class TokenizerBehaviourTest {
    @TempDir
    Path dir;

    @Test
    void specialTokensFollowLlamaCppDefaultsAndMetadata() {
        SpecialTokens spm = TestVocabs.vocab("llama-spm").special();
        assertEquals(1, spm.bos());
        assertEquals(2, spm.eos());
        assertEquals(0, spm.unk());
        assertEquals(-1, spm.pad());
        assertTrue(spm.addBos());
        assertFalse(spm.addEos());
        assertEquals(Set.of(2), spm.endOfGeneration()); // </s> (EOS)

        SpecialTokens gpt2 = TestVocabs.vocab("gpt-2").special();
        assertEquals(50256, gpt2.bos());
        assertFalse(gpt2.addBos()); // gpt2-type vocabularies add no BOS unless they say so
        assertTrue(gpt2.isEndOfGeneration(50256));

        SpecialTokens phi3 = TestVocabs.vocab("phi-3").special();
        assertEquals(32000, phi3.eos());
        // <|end|> and <|endoftext|> end generation as in llama.cpp
        Tokenizer t = TestVocabs.vocab("phi-3");
        assertTrue(phi3.isEndOfGeneration(t.encode("<|end|>", false, true)[0]), phi3.endOfGeneration().toString());

        SpecialTokens deepseek = TestVocabs.vocab("deepseek-coder").special();
        assertEquals(32013, deepseek.bos());
        assertTrue(deepseek.addBos());
    }

    @Test
    void addSpecialAddsBosOnlyWhenTheVocabularyAsks() {
        assertArrayEquals(new int[]{1, 15043}, TestVocabs.vocab("llama-spm").encode("Hello", true, false));
        assertArrayEquals(new int[]{15496}, TestVocabs.vocab("gpt-2").encode("Hello", true, false));
        assertArrayEquals(new int[]{1}, TestVocabs.vocab("llama-spm").encode("", true, false));
        assertArrayEquals(new int[0], TestVocabs.vocab("llama-spm").encode("", false, false));
    }

    @Test
    void specialTokenTextIsParsedOnlyWhenAsked() {
        Tokenizer t = TestVocabs.vocab("gpt-2");
        int[] plain = t.encode("a<|endoftext|>b", false, false);
        int[] parsed = t.encode("a<|endoftext|>b", false, true);
        assertArrayEquals(new int[]{64, 50256, 65}, parsed);
        assertTrue(plain.length > 3);
        // SPM: text after a special token gets the dummy prefix again, as in llama.cpp
        Tokenizer spm = TestVocabs.vocab("llama-spm");
        assertArrayEquals(new int[]{1, 921}, spm.encode("<s>x", false, true)); // <s> ▁x
    }

    @Test
    void missingTokenizerIsAClearError() {
        Path p = dir.resolve("no-tokenizer.gguf");
        new GgufWriter().putString("general.architecture", "llama").write(p);
        try (GgufFile f = GgufFile.open(p)) {
            MetagenException e = assertThrows(MetagenException.class, () -> GgufTokenizers.fromGguf(f));
            assertEquals(p + ": has no tokenizer (tokenizer.ggml.tokens missing)", e.getMessage());
        }
    }

    @Test
    void unsupportedPreTokenizerNamesTheValue() {
        Path p = dir.resolve("bad-pre.gguf");
        GgufWriter w = new GgufWriter();
        try (GgufFile f = GgufFile.open(TestVocabs.vocabPath("gpt-2"))) {
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
        }
        w.putString("tokenizer.ggml.pre", "klingon-bpe").write(p);
        try (GgufFile f = GgufFile.open(p)) {
            MetagenException e = assertThrows(MetagenException.class, () -> GgufTokenizers.fromGguf(f));
            assertTrue(e.getMessage().contains("tokenizer.ggml.pre = 'klingon-bpe'"), e.getMessage());
        }
    }

    @Test
    void sentencePieceWithoutByteTokensFallsBackToUnknown() {
        // llama.cpp would fail here (std::out_of_range in byte_to_token); we emit <unk> instead
        Path p = dir.resolve("tiny-spm.gguf");
        new GgufWriter().putString("general.architecture", "llama").putString("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", GgufValue.ofArray(new String[]{"<unk>", "<s>", "</s>", "\u2581", "a", "\u2581a"}))
                .put("tokenizer.ggml.scores", GgufValue.ofArray(new float[]{0, 0, 0, -1, -2, -0.5f}))
                .put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(new int[]{2, 3, 3, 1, 1, 1}))
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer t = GgufTokenizers.fromGguf(f);
            assertArrayEquals(new int[]{1, 5, 0, 5}, t.encode("ab a", true, false)); // <s> ▁a <unk>(b) ▁a
        }
    }

    @Test
    void outOfRangeIdsAreErrors() {
        Tokenizer t = TestVocabs.vocab("gpt-2");
        assertThrows(MetagenException.class, () -> t.tokenBytes(50257));
        assertThrows(MetagenException.class, () -> t.decode(new int[]{-1}));
    }

    @Test
    void tenThousandCharactersTokenizeInMilliseconds() {
        String text = RandomTexts.longText(5, 10_000);
        String letters = "a".repeat(10_000); // one long word: merges must not rescan quadratically
        for (String vocab : new String[]{"llama-spm", "gpt-2", "deepseek-llm"}) {
            Tokenizer t = TestVocabs.vocab(vocab);
            for (int warm = 0; warm < 3; warm++) {
                t.encode(text, false, false);
                t.encode(letters, false, false);
            }
            long start = System.nanoTime();
            int[] a = t.encode(text, false, false);
            int[] b = t.encode(letters, false, false);
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(a.length > 1000 && b.length > 10);
            // generous bound for a shared 2-core machine; typically a few ms each
            assertTrue(ms < 1000, vocab + " took " + ms + " ms for 2 x 10k characters");
            System.out.println(vocab + ": 2 x 10k characters in " + ms + " ms");
        }
    }
}
