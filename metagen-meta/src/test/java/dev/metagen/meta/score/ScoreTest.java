package dev.metagen.meta.score;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Extractors, utilities and scorers against hand-computed values. */
class ScoreTest {
    static Generation gen(String text, double... lps) {
        return new Generation(text, new int[lps.length], lps, FinishReason.STOP, Cost.ZERO, Map.of());
    }

    @Test
    void extractors() {
        assertEquals(Optional.of("3"), AnswerExtractors.lastNumber().extract("I had 1,000.50 apples and then 3.00 pears"));
        assertEquals(Optional.of("1000.5"), AnswerExtractors.lastNumber().extract("so 1,000.50"));
        assertEquals(Optional.of("-2"), AnswerExtractors.lastNumber().extract("x = -2."));
        assertEquals(Optional.empty(), AnswerExtractors.lastNumber().extract("no numbers"));
        assertEquals(Optional.of("\\frac{1}{2}"), AnswerExtractors.boxed().extract("\\boxed{3} no, \\boxed{\\frac{1}{2}}."));
        assertEquals(Optional.empty(), AnswerExtractors.boxed().extract("\\boxed{unclosed"));
        assertEquals(Optional.of("B"), AnswerExtractors.regex("answer is (\\w)", 1).extract("answer is A... answer is B"));
        assertEquals(Optional.of("42"), AnswerExtractors.jsonField("/result/value").extract("Here: {\"result\": {\"value\": 42}} done"));
        assertEquals(Optional.empty(), AnswerExtractors.jsonField("/x").extract("{\"y\":1}"));
        assertEquals(Optional.empty(), AnswerExtractors.jsonField("/x").extract("{broken"));
        assertEquals(Optional.of("a b"), AnswerExtractors.text().extract("  a \n b "));
    }

    @Test
    void utilities() {
        assertEquals(1.0, Utilities.exactMatch().similarity(" x ", "x"));
        // "the cat sat" vs "the cat": precision 2/3, recall 1 -> F1 0.8
        assertEquals(0.8, Utilities.tokenF1().similarity("the cat sat", "the cat"), 1e-12);
        // LCS of "a b c d" and "a c d e" is "a c d": P = R = 3/4
        assertEquals(0.75, Utilities.rougeL().similarity("a b c d", "a c d e"), 1e-12);
        assertEquals(1.0, Utilities.chrF().similarity("same text", "same  text"), 1e-12);
        assertEquals(0.0, Utilities.chrF().similarity("abc", "xyz"), 1e-12);
        // "ab" vs "ac": unigram P = R = 1/2, bigram 0 -> averaged P = R = 1/4 -> F = 1/4 for any beta
        assertEquals(0.25, Utilities.chrF().similarity("ab", "ac"), 1e-12);
    }

    @Test
    void scorers() {
        Generation g = gen("x", -1, -2, -3);
        assertEquals(-6, LogprobScorer.sum().score(Prompt.of(""), g), 1e-12);
        assertEquals(-2, LogprobScorer.mean().score(Prompt.of(""), g), 1e-12);
        assertEquals(-6 / Math.pow(3, 0.5), new LogprobScorer(true, 0.5).score(Prompt.of(""), g), 1e-12);
        ContainsWordsVerifier v = new ContainsWordsVerifier(List.of("dog", "Park"));
        assertTrue(v.verify(Prompt.of(""), gen("The dog ran to the park.")).accepted());
        var no = v.verify(Prompt.of(""), gen("The dogs ran."));
        assertFalse(no.accepted());
        assertEquals("missing words: dog, Park", no.feedback());
        assertEquals(0.5, v.score(Prompt.of(""), gen("a dog")), 1e-12);
        assertTrue(RegexVerifier.of("\\d+").verify(Prompt.of(""), gen("n=12")).accepted());
        assertEquals(1.0, Verifier.threshold(LogprobScorer.mean(), -2).score(Prompt.of(""), g));
    }
}
