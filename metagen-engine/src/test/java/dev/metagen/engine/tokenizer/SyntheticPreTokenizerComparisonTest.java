package dev.metagen.engine.tokenizer;

import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.testing.LlamaCppTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Pre-tokenizers whose real vocabularies are too big to keep here (Llama-3, Qwen2, DeepSeek-V3, ...): the GPT-2
 * vocabulary and merges rewritten with another {@code tokenizer.ggml.pre}, then compared with llama.cpp loading the
 * same file. The vocabulary is not the model's, but the split (and llama.cpp's flags per pre-tokenizer, such as
 * Llama-3's ignore_merges and default BOS) is exactly what is under test.
 */
class SyntheticPreTokenizerComparisonTest {
    @TempDir
    static Path dir;
    private static LlamaCppTokenizer llama;

    @BeforeAll
    static void startLlamaCpp() {
        llama = LlamaCppTokenizer.start();
    }

    @AfterAll
    static void stopLlamaCpp() {
        if (llama != null) {
            llama.close();
        }
    }

    /** The GPT-2 vocab file with tokenizer.ggml.pre replaced. */
    static Path withPre(String pre) {
        Path out = dir.resolve("gpt2-vocab-as-" + pre + ".gguf");
        GgufWriter w = new GgufWriter();
        try (GgufFile f = GgufFile.open(TestVocabs.vocabPath("gpt-2"))) {
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                if (!e.getKey().equals("tokenizer.ggml.pre")) {
                    w.put(e.getKey(), e.getValue());
                }
            }
        }
        w.putString("tokenizer.ggml.pre", pre);
        w.write(out);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama-bpe", "qwen2", "deepseek-r1-qwen", "deepseek-v3", "smollm", "command-r", "stablelm2",
            "tekken", "gpt-4o", "chatglm-bpe", "dbrx", "viking", "bloom", "olmo", "phi-2", "exaone", "chameleon", "default"})
    void sameIdsAsLlamaCpp(String pre) {
        Path path = withPre(pre);
        Tokenizer ours;
        try (GgufFile f = GgufFile.open(path)) {
            ours = GgufTokenizers.fromGguf(f);
        }
        SplittableRandom r = new SplittableRandom(pre.hashCode());
        List<String> failures = new ArrayList<>();
        for (boolean addSpecial : new boolean[]{false, true}) {
            List<String> texts = new ArrayList<>(List.of("12345678", "I'M here", "x\n\n  y", "  ", "!!!\n\nabc",
                    "don'T 'Ll", "3.14159 1,000,000", "ÀÉÎõü ǅ ǈ Ǳ", "日本語のテキスト", "<|endoftext|>"));
            for (int i = 0; i < 400; i++) {
                texts.add(RandomTexts.next(r, 8, List.of("<|endoftext|>")));
            }
            List<int[]> expected = llama.tokenize(path, texts, addSpecial, false);
            for (int i = 0; i < texts.size(); i++) {
                int[] actual = ours.encode(texts.get(i), addSpecial, false);
                if (!Arrays.equals(expected.get(i), actual) && failures.size() < 6) {
                    failures.add("addSpecial=" + addSpecial + " " + TokenizerVectorsTest.escape(texts.get(i))
                            + "\n  llama.cpp " + Arrays.toString(expected.get(i)) + "\n  ours      " + Arrays.toString(actual));
                }
            }
        }
        assertEquals(List.of(), failures, pre);
    }
}
