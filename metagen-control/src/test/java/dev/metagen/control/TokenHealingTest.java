package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.core.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Token healing and lexical constraints on stories260K. */
@Tag("model")
class TokenHealingTest {

    @Test
    void healedFirstTokenExtendsTheRemovedText() {
        LanguageModel m = Models.stories();
        Tokenizer tok = m.tokenizer();
        int[] ids = tok.encode("Once upon a ti", true, false);
        // SentencePiece splits " ti" into " t" + "i": back off both
        TokenHealing.Healed h = TokenHealing.backOff(tok, ids, 2);
        assertArrayEquals(Arrays.copyOf(ids, ids.length - 2), h.promptIds());
        assertEquals(" ti", new String(h.removed(), StandardCharsets.UTF_8));
        // the first-token mask is exactly the tokens compatible with " ti" (brute force over the vocabulary)
        GrammarConstraint c = GrammarConstraint.of(TokenHealing.startsWith(h.removed()), tok, "heal");
        ConstraintState st = c.start();
        for (int t = 0; t < tok.vocabSize(); t++) {
            String b = new String(tok.tokenBytes(t), StandardCharsets.ISO_8859_1);
            boolean expected = !b.isEmpty() && (" ti".startsWith(b) || b.startsWith(" ti"));
            assertEquals(expected, st.isAllowed(t), "token " + t + " '" + b + "'");
        }
        Generation g = TokenHealing.generate(m, Prompt.of("Once upon a ti"), GenerationParams.greedy(8), 2);
        assertTrue(g.text().startsWith("me"), g.text()); // "Once upon a ti" + "me, there was ..."
        assertTrue(new String(tok.tokenBytes(g.tokens()[0]), StandardCharsets.UTF_8).startsWith(" ti"));
        assertEquals(" ti", g.trace().get("healed_bytes"));
    }

    @Test
    void lexicalConstraintForcesEveryWordBeforeTheEnd() {
        LanguageModel m = Models.stories();
        GrammarConstraint c = Constraints.containsAll(List.of("dragon", "blue"), m.tokenizer());
        for (long seed = 0; seed < 3; seed++) {
            GenerationParams p = new GenerationParams(60, 0.8, 0, 1.0, seed, true, List.of());
            Generation g = new ConstrainedGenerator(m, c, 0.5).generate(Prompt.of("Once upon a time"), p);
            assertTrue(g.text().contains("dragon") && g.text().contains("blue"), g.text());
            assertEquals(FinishReason.STOP, g.finish());
        }
        // exactness on a small vocabulary against java.util.regex lookaheads
        TestTokenizer small = TestTokenizer.ofStrings(List.of("a", "b", "c", "ab", "ba", "cab", "bc"));
        GrammarConstraint lc = GrammarConstraint.of(LexicalConstraints.containsAll(List.of("ab", "c")), small, "lex");
        Pattern both = Pattern.compile("(?=.*ab)(?=.*c).*");
        for (String prefix : List.of("", "a", "ab", "c", "ca", "cab", "bbb")) {
            ConstraintState st = lc.afterBytes(prefix.getBytes(StandardCharsets.UTF_8));
            assertEquals(both.matcher(prefix).matches(), st.isAllowed(small.eos()), prefix);
            assertEquals(both.matcher(prefix).matches(), st.isComplete(), prefix);
        }
    }

    @Test
    void stopStringsEndAConstrainedOutput() {
        LanguageModel m = Models.stories();
        GrammarConstraint c = Constraints.regex("[a-z ]{1,60}\\.", m.tokenizer());
        Generation free = new ConstrainedGenerator(m, c).generate(Prompt.of("Once"), GenerationParams.greedy(40));
        int space = free.text().indexOf(' ', 1);
        assertTrue(space > 0, free.text());
        String stop = free.text().substring(space, space + 2);
        Generation cut = new ConstrainedGenerator(m, c).generate(Prompt.of("Once"), GenerationParams.greedy(40).withStop(List.of(stop)));
        assertEquals(free.text().substring(0, free.text().indexOf(stop)), cut.text());
        assertEquals(FinishReason.STOP, cut.finish());
    }

    @Test
    void regexAndChoiceOutputsMatchOnBothModels() {
        for (LanguageModel m : List.of(Models.stories(), Models.bigVocab())) {
            GrammarConstraint r = Constraints.regex("(yes|no), [0-9]{1,3} (cats|dogs)\\.", m.tokenizer());
            GrammarConstraint ch = Constraints.choice(List.of("red", "green", "blue sky"), m.tokenizer());
            for (long seed = 0; seed < 3; seed++) {
                GenerationParams p = new GenerationParams(32, seed == 0 ? 0 : 1.0, 0, 1.0, seed, true, List.of());
                Generation g = new ConstrainedGenerator(m, r).generate(Prompt.of("Answer:"), p);
                assertEquals(FinishReason.STOP, g.finish());
                assertTrue(g.text().matches("(yes|no), [0-9]{1,3} (cats|dogs)\\."), g.text());
                Generation gc = new ConstrainedGenerator(m, ch).generate(Prompt.of("Color:"), p);
                assertTrue(List.of("red", "green", "blue sky").contains(gc.text()), gc.text());
            }
        }
    }
}
