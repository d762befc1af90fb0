package dev.metagen.engine.tokenizer;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.testing.LlamaCppTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Our tokenizers against llama.cpp itself (node-llama-cpp) on thousands of seeded random and adversarial strings
 * per vocabulary, in all four combinations of addSpecial / parseSpecial.
 */
class LlamaCppComparisonTest {
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

    static Stream<String> vocabs() {
        List<String> all = new ArrayList<>(TestVocabs.WITH_VECTORS);
        all.add("stories260K");
        all.add("gpt-neox"); // no vectors, no tokenizer.ggml.pre: llama.cpp's "default" pre-tokenizer
        all.add("baichuan"); // no vectors: SPM with a 64k vocabulary
        return all.stream();
    }

    static Path path(String vocab) {
        return vocab.equals("stories260K") ? SharedData.stories260k() : TestVocabs.vocabPath(vocab);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void sameIdsAsLlamaCpp(String vocab) {
        Path path = path(vocab);
        Tokenizer ours = TestVocabs.load(path);
        List<String> specials = specialTexts(ours);
        SplittableRandom r = new SplittableRandom(vocab.hashCode() * 31L + 7);
        List<String> failures = new ArrayList<>();
        int total = 0;
        for (boolean[] mode : new boolean[][]{{false, false}, {false, true}, {true, true}, {true, false}}) {
            boolean addSpecial = mode[0];
            boolean parseSpecial = mode[1];
            int n = !addSpecial && !parseSpecial ? 1500 : addSpecial && !parseSpecial ? 100 : 300;
            List<String> texts = new ArrayList<>(n + 8);
            texts.addAll(List.of("", " ", "  ", "\n", " Hello", "Hello", "\t\tx", "<s>"));
            for (int i = 0; i < n; i++) {
                texts.add(RandomTexts.next(r, 8, parseSpecial || r.nextInt(4) == 0 ? specials : List.of()));
            }
            List<int[]> expected = llama.tokenize(path, texts, addSpecial, parseSpecial);
            for (int i = 0; i < texts.size(); i++) {
                int[] actual = ours.encode(texts.get(i), addSpecial, parseSpecial);
                if (!Arrays.equals(expected.get(i), actual) && failures.size() < 8) {
                    failures.add("addSpecial=" + addSpecial + " parseSpecial=" + parseSpecial + " "
                            + TokenizerVectorsTest.escape(texts.get(i)) + "\n  llama.cpp " + Arrays.toString(expected.get(i))
                            + "\n  ours      " + Arrays.toString(actual));
                }
                total++;
            }
        }
        assertEquals(List.of(), failures, vocab + ": mismatches among " + total + " strings");
    }

    /**
     * decode() against llama.cpp's detokenize, on every single token and on encoded random texts. Only vocabularies
     * where llama.cpp does not run its clean_spaces pass (SPM ones, DeepSeek's), which our decode leaves out on purpose.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"llama-spm", "phi-3", "deepseek-coder", "deepseek-llm",
            "stories260K"})
    void decodeMatchesLlamaCppDetokenize(String vocab) {
        Path path = path(vocab);
        Tokenizer ours = TestVocabs.load(path);
        List<int[]> idLists = new ArrayList<>();
        for (int id = 0; id < ours.vocabSize(); id++) {
            idLists.add(new int[]{id});
        }
        SplittableRandom r = new SplittableRandom(3);
        List<String> specials = specialTexts(ours);
        for (int i = 0; i < 300; i++) {
            idLists.add(ours.encode(RandomTexts.next(r, 8, specials), r.nextBoolean(), r.nextBoolean()));
        }
        List<String> expected = llama.detokenize(path, idLists);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < idLists.size(); i++) {
            String actual = ours.decode(idLists.get(i));
            if (!expected.get(i).equals(actual) && failures.size() < 8) {
                failures.add(Arrays.toString(idLists.get(i)) + "\n  llama.cpp " + TokenizerVectorsTest.escape(expected.get(i))
                        + "\n  ours      " + TokenizerVectorsTest.escape(actual));
            }
        }
        assertEquals(List.of(), failures, vocab);
    }

    /** Texts of the vocabulary's control / user-defined tokens (some of them), to exercise special-token parsing. */
    static List<String> specialTexts(Tokenizer t) {
        Vocabulary v = ((VocabularyTokenizer) t).vocab;
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.specialTokens.length && out.size() < 40; i++) {
            out.add(v.texts[v.specialTokens[i]]);
        }
        for (int id : new int[]{v.bos, v.eos, v.unk}) {
            if (id >= 0) {
                out.add(v.texts[id]);
            }
        }
        return out;
    }
}
