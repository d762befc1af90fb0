package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pre-tokenizer splits derived by hand from the regex definitions, and checked against java.util.regex on ASCII. */
class PreTokenizerTest {
    private static final PreTokenizer LLAMA3 = PreTokenizer.forName("llama-bpe");
    private static final PreTokenizer QWEN2 = PreTokenizer.forName("qwen2");
    private static final PreTokenizer GPT2 = PreTokenizer.forName("gpt-2");

    @Test
    void llama3GroupsDigitsInThreesAndQwen2SplitsEveryDigit() {
        assertEquals(List.of("123", "456", "78"), LLAMA3.split("12345678"));
        assertEquals(List.of("1", "2", "3", "4", "5", "6", "7", "8"), QWEN2.split("12345678"));
        assertEquals(List.of("12345678"), GPT2.split("12345678"));
        // \p{N} covers other scripts' digits too
        assertEquals(List.of("١٢٣", "٤"), LLAMA3.split("١٢٣٤"));
        assertEquals(List.of("abc", "123", "4"), LLAMA3.split("abc1234"));
    }

    @Test
    void contractionsAreCaseInsensitiveForLlama3ButNotGpt2() {
        assertEquals(List.of("I", "'M", " here"), LLAMA3.split("I'M here"));
        assertEquals(List.of("don", "'T"), QWEN2.split("don'T"));
        assertEquals(List.of("don", "'", "T"), GPT2.split("don'T"));
        assertEquals(List.of("don", "'t"), GPT2.split("don't"));
        assertEquals(List.of("we", "'LL", " go"), LLAMA3.split("we'LL go"));
    }

    @Test
    void whitespaceRunsFollowTheLookahead() {
        // \s+(?!\S) leaves the last space to the next word; \s*[\r\n]+ ends at the last newline
        assertEquals(List.of("a", " ", " b"), LLAMA3.split("a  b"));
        assertEquals(List.of("x", "\n\n", " ", " y"), LLAMA3.split("x\n\n  y"));
        assertEquals(List.of("  "), LLAMA3.split("  "));
        assertEquals(List.of("!!!\n\n", "abc"), LLAMA3.split("!!!\n\nabc"));
        assertEquals(List.of("!!!", "\n", "\n", "abc"), GPT2.split("!!!\n\nabc")); // no [\r\n]* in GPT-2
        assertEquals(List.of("a", "   ", " b"), GPT2.split("a    b"));
        // a single non-letter may lead a word in Llama-3 (but not \r or \n)
        assertEquals(List.of("$hello", ",world"), LLAMA3.split("$hello,world"));
        assertEquals(List.of("\n", "hello"), LLAMA3.split("\nhello"));
    }

    /** The original Hugging Face regexes, which java.util.regex runs faithfully on ASCII text. */
    private static final Pattern LLAMA3_HF = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
    private static final Pattern QWEN2_HF = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
    private static final Pattern GPT2_HF = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    @Test
    void handWrittenSplittersAgreeWithTheRegexOnAsciiText() {
        SplittableRandom r = new SplittableRandom(42);
        String alphabet = "aZ09'sStTdDmMlLrReEvV  \t\n\r.,!?$-_(){}x\u000B\f";
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(25);
            for (int k = 0; k < n; k++) {
                sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String s = sb.toString();
            assertEquals(regexSplit(LLAMA3_HF, s), LLAMA3.split(s), () -> "llama3 " + TokenizerVectorsTest.escape(s));
            assertEquals(regexSplit(QWEN2_HF, s), QWEN2.split(s), () -> "qwen2 " + TokenizerVectorsTest.escape(s));
            assertEquals(regexSplit(GPT2_HF, s), GPT2.split(s), () -> "gpt2 " + TokenizerVectorsTest.escape(s));
        }
    }

    private static List<String> regexSplit(Pattern p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        int prev = 0;
        while (m.find()) {
            if (m.start() > prev) {
                out.add(s.substring(prev, m.start()));
            }
            out.add(m.group());
            prev = m.end();
        }
        if (prev < s.length()) {
            out.add(s.substring(prev));
        }
        return out;
    }

    @Test
    void splitsCoverTheInputExactly() {
        SplittableRandom r = new SplittableRandom(7);
        for (String pre : List.of("default", "llama3", "qwen2", "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon",
                "starcoder", "gpt-2", "tekken", "gpt-4o", "chameleon", "bloom")) {
            PreTokenizer p = PreTokenizer.forName(pre);
            for (int i = 0; i < 200; i++) {
                String s = RandomTexts.next(r, 8, List.of());
                List<String> words = p.split(s);
                assertEquals(s, String.join("", words), pre);
                assertTrue(words.stream().noneMatch(String::isEmpty), pre);
            }
        }
    }

    @Test
    void unknownPreTokenizerIsAnError() {
        MetagenException e = assertThrows(MetagenException.class, () -> PreTokenizer.forName("no-such-pre"));
        assertTrue(e.getMessage().contains("'no-such-pre'"), e.getMessage());
    }
}
