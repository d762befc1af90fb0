package dev.metagen.engine.tokenizer;

import dev.metagen.core.StreamingDecoder;
import dev.metagen.core.Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Detokenizing: round trips, llama.cpp's dummy-prefix rule, control tokens, and streaming across split characters. */
class DecodingTest {

    static Stream<String> vocabs() {
        return TestVocabs.WITH_VECTORS.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void decodeInvertsEncode(String vocab) {
        Tokenizer t = TestVocabs.vocab(vocab);
        // some byte-level vocabularies lack tokens for a few bytes (falcon: 28 of them, e.g. 0x0B; starcoder: 0xF1),
        // which llama.cpp then drops on encode: only texts whose bytes all have a token can round-trip
        boolean[] missing = new boolean[256];
        if (t instanceof ByteLevelBpeTokenizer bpe) {
            for (int b = 0; b < 256; b++) {
                missing[b] = bpe.vocab.id(String.valueOf(ByteLevelBpeTokenizer.BYTE_TO_CHAR[b])) < 0;
            }
        }
        SplittableRandom r = new SplittableRandom(11);
        int tested = 0;
        for (int i = 0; i < 300; i++) {
            String s = RandomTexts.next(r, 10, List.of());
            boolean coverable = true;
            for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
                coverable &= !missing[b & 0xFF];
            }
            if (!coverable) {
                continue;
            }
            tested++;
            int[] ids = t.encode(s, false, false);
            // SPM: the dummy prefix space llama.cpp adds on encode is the one decode drops; a text that starts with
            // a space keeps it (it becomes "▁▁..." and only one is dropped)
            assertEquals(s, t.decode(ids), () -> vocab + " " + TokenizerVectorsTest.escape(s));
            // tokenBytes concatenated are the UTF-8 of the text, plus the dummy prefix for SPM
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int id : ids) {
                all.writeBytes(t.tokenBytes(id));
            }
            String prefix = t instanceof SentencePieceTokenizer && !s.isEmpty() ? " " : "";
            assertArrayEquals((prefix + s).getBytes(StandardCharsets.UTF_8), all.toByteArray(), vocab);
        }
        assertTrue(tested >= 150, vocab + ": only " + tested + " texts could be tested");
    }

    @Test
    void sentencePieceDropsOnlyTheFirstTokensLeadingSpace() {
        Tokenizer t = TestVocabs.vocab("llama-spm");
        int[] ids = t.encode("Hello world", false, false); // ▁Hello ▁world
        assertEquals(List.of(15043, 3186), java.util.Arrays.stream(ids).boxed().toList());
        assertEquals("Hello world", t.decode(ids));
        assertEquals("world", t.decode(new int[]{3186})); // first token: its leading space is the dummy prefix
        assertEquals(" world", new String(t.tokenBytes(3186), StandardCharsets.UTF_8));
        // llama.cpp (remove_special=false): BOS renders as nothing but still counts as the first token
        assertEquals(" Hello world", t.decode(t.encode("Hello world", true, false)));
        assertEquals("", t.decode(new int[]{t.special().bos(), t.special().eos()}));
    }

    @Test
    void controlTokensRenderAsNothingButUserTextDoes() {
        Tokenizer gpt2 = TestVocabs.vocab("gpt-2");
        assertEquals(0, gpt2.tokenBytes(50256).length); // <|endoftext|>
        assertEquals("<|endoftext|>", gpt2.tokenText(50256));
        assertEquals("a b", gpt2.decode(gpt2.encode("a b", false, false)));
        Tokenizer spm = TestVocabs.vocab("llama-spm");
        assertArrayEquals(new byte[]{0x0A}, spm.tokenBytes(spm.encode("\n", false, false)[1])); // ▁ then <0x0A>
    }

    @Test
    void streamingDecoderHoldsBackCharactersSplitAcrossByteTokens() {
        // the llama-spm vocabulary has no token for these, so they come out as <0xXX> byte tokens
        Tokenizer t = TestVocabs.vocab("llama-spm");
        String text = "🦙 and 𝔘 and 㐀";
        int[] ids = t.encode(text, false, false);
        StreamingDecoder d = t.streamingDecoder();
        StringBuilder out = new StringBuilder();
        int byteTokens = 0;
        for (int id : ids) {
            if (t.tokenText(id).startsWith("<0x")) {
                byteTokens++;
            }
            String piece = d.accept(id);
            assertTrue(piece.chars().noneMatch(c -> c == 0xFFFD), "no replacement character mid-stream: " + piece);
            out.append(piece);
        }
        out.append(d.flush());
        assertTrue(byteTokens >= 8, "expected byte-fallback tokens, got " + byteTokens);
        assertEquals(" " + text, out.toString()); // streaming keeps the dummy prefix space (token bytes as they are)
    }

    @Test
    void streamingDecoderOnByteLevelBpe() {
        Tokenizer t = TestVocabs.vocab("gpt-2");
        String text = "日本語 👨‍👩‍👧 ok";
        StreamingDecoder d = t.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : t.encode(text, false, false)) {
            String piece = d.accept(id);
            assertTrue(piece.chars().noneMatch(c -> c == 0xFFFD), piece);
            out.append(piece);
        }
        assertEquals(text, out.append(d.flush()).toString());
    }
}
