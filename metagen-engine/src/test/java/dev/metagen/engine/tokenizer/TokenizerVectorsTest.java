package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llama.cpp's tokenizer conformance vectors (models/ggml-vocab-*.gguf.inp/.out): every string, every vocabulary. */
class TokenizerVectorsTest {

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (String vocab : TestVocabs.WITH_VECTORS) {
            Path inp = Path.of(TestVocabs.vocabPath(vocab) + ".inp");
            Path out = Path.of(TestVocabs.vocabPath(vocab) + ".out");
            try {
                String[] texts = Files.readString(inp, StandardCharsets.UTF_8).split("\n__ggml_vocab_test__\n", -1);
                List<String> expected = Files.readAllLines(out, StandardCharsets.UTF_8);
                // the file ends with the delimiter: the last piece is empty and not a test
                assertEquals("", texts[texts.length - 1], inp + " should end with the delimiter");
                assertEquals(46, texts.length - 1, inp.toString());
                assertEquals(texts.length - 1, expected.size(), out.toString());
                for (int i = 0; i < expected.size(); i++) {
                    String line = expected.get(i).strip();
                    int[] ids = line.isEmpty() ? new int[0]
                            : Arrays.stream(line.split(" +")).mapToInt(Integer::parseInt).toArray();
                    cases.add(Arguments.of(vocab, i, texts[i], ids));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} #{1}")
    @MethodSource("cases")
    void matchesLlamaCppVector(String vocab, int index, String text, int[] expected) {
        int[] actual = TestVocabs.vocab(vocab).encode(text, false, false);
        assertArrayEquals(expected, actual, () -> vocab + " #" + index + " " + escape(text)
                + "\n expected " + Arrays.toString(expected) + "\n actual   " + Arrays.toString(actual));
    }

    @Test
    void allVectorCasesArePresent() {
        assertEquals(9 * 46, cases().count());
    }

    @Test
    void wordPieceIsRejectedWithAClearMessage() {
        try (GgufFile f = GgufFile.open(TestVocabs.vocabPath("bert-bge"))) {
            MetagenException e = assertThrows(MetagenException.class, () -> GgufTokenizers.fromGguf(f));
            assertTrue(e.getMessage().contains("ggml-vocab-bert-bge.gguf"), e.getMessage());
            assertTrue(e.getMessage().contains("tokenizer.ggml.model = 'bert'"), e.getMessage());
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F && cp != '"') {
                sb.append((char) cp);
            } else {
                sb.append(String.format("\\u{%X}", cp));
            }
        });
        return sb.append('"').toString();
    }
}
