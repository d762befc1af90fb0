package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.metagen.control.grammar.CompiledGrammar;
import dev.metagen.control.grammar.GbnfParser;
import dev.metagen.control.grammar.Grammar;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every GBNF grammar of llama.cpp in ../shared/datasets/gbnf compiles, accepts a hand-written sentence and rejects
 * a broken one (checked also by the independent {@link ExprOracle}), and drives generation on stories260K and
 * on the big-vocabulary model: every finished output parses, every unfinished one is a viable prefix.
 */
@Tag("model")
class GbnfGrammarsTest {
    static final Map<String, String[]> SAMPLES = Map.of(
            "arithmetic.gbnf", new String[] {"1+2 = x\n(a *b)= c\n", "x = \n"},
            "c.gbnf", new String[] {"int main(){int x = 1;return x;}", "int main({}"},
            "chess.gbnf", new String[] {"1. e4 e5\n2. Nf3 Nc6\n", "1. e4 e5\n"},
            "english.gbnf", new String[] {"Hello, world! 42", "Hello  world"},
            "japanese.gbnf", new String[] {"こんにちは 世界", "hello"},
            "json.gbnf", new String[] {"{\"a\": [1, 2.5e3, \"x\\n\"], \"b\": {}}", "{\"a\" 1}"},
            "json_arr.gbnf", new String[] {"[\n{\"k\": true},\nnull]", "[1]"},
            "list.gbnf", new String[] {"- one\n- two\n", "- one"});

    static String read(String name) throws IOException {
        return Files.readString(Models.datasets().resolve("gbnf").resolve(name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"arithmetic.gbnf", "c.gbnf", "chess.gbnf", "english.gbnf", "japanese.gbnf", "json.gbnf",
            "json_arr.gbnf", "list.gbnf"})
    void compilesAcceptsAndGenerates(String file) throws IOException {
        Grammar g = GbnfParser.parse(read(file));
        CompiledGrammar cg = CompiledGrammar.compile(g);
        assertTrue(cg.ruleCount() > 0);
        ExprOracle oracle = new ExprOracle(g);
        String[] s = SAMPLES.get(file);
        byte[] good = s[0].getBytes(StandardCharsets.UTF_8);
        byte[] bad = s[1].getBytes(StandardCharsets.UTF_8);
        assertTrue(oracle.matches(good), "oracle rejects the sample of " + file);
        assertTrue(!oracle.matches(bad), "oracle accepts the broken sample of " + file);

        LanguageModel model = Models.stories();
        GrammarConstraint c = GrammarConstraint.of(g, model.tokenizer(), file);
        assertTrue(c.afterBytes(good).isComplete());
        boolean badComplete;
        try {
            badComplete = c.afterBytes(bad).isComplete();
        } catch (MetagenException e) {
            badComplete = false;
        }
        assertTrue(!badComplete);
        // the sample fed token by token through the masks
        int[] ids = spell(c.vocabulary(), good);
        ConstraintState st = c.start();
        java.io.ByteArrayOutputStream fed = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            assertTrue(st.isAllowed(id), file + ": mask forbids token " + id + " after '" + fed + "'");
            st = st.advance(id);
            fed.writeBytes(model.tokenizer().tokenBytes(id));
        }
        assertEquals(s[0], fed.toString(StandardCharsets.UTF_8));
        assertTrue(st.isComplete());

        for (LanguageModel m : List.of(Models.stories(), Models.bigVocab())) {
            GrammarConstraint mc = GrammarConstraint.of(g, m.tokenizer(), file);
            for (long seed = 1; seed <= 2; seed++) {
                GenerationParams p = new GenerationParams(48, seed == 1 ? 0 : 1.0, 0, 1.0, seed, true, List.of());
                Generation out = new ConstrainedGenerator(m, mc).generate(Prompt.of("Once upon a time"), p);
                byte[] bytes = out.text().getBytes(StandardCharsets.UTF_8);
                System.out.println(file + " [" + m.tokenizer().vocabSize() + "] " + out.finish() + ": " + out.text().replace("\n", "\\n"));
                if (out.finish() == FinishReason.STOP) {
                    assertTrue(oracle.matches(bytes), file + ": finished output does not parse: " + out.text());
                } else {
                    assertEquals(48, out.tokens().length);
                    mc.afterBytes(bytes); // still a viable prefix (throws otherwise)
                }
            }
        }
    }

    /** Greedy longest-match spelling of {@code bytes} with the vocabulary's tokens (not the tokenizer's segmentation). */
    static int[] spell(Vocabulary v, byte[] bytes) {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < bytes.length) {
            int best = -1;
            int bestLen = 0;
            for (int id = 0; id < v.size(); id++) {
                byte[] t = v.bytes(id);
                if (t.length > bestLen && i + t.length <= bytes.length
                        && java.util.Arrays.equals(t, 0, t.length, bytes, i, i + t.length)) {
                    best = id;
                    bestLen = t.length;
                }
            }
            if (best < 0) {
                throw new AssertionError("vocabulary cannot spell byte " + (bytes[i] & 0xFF));
            }
            out.add(best);
            i += bestLen;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void grammarErrorsAreOneLineMessages() {
        MetagenException e = assertThrows(MetagenException.class, () -> CompiledGrammar.compile(GbnfParser.parse("root ::= foo")));
        assertTrue(e.getMessage().contains("undefined rule 'foo'"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> CompiledGrammar.compile(GbnfParser.parse("root ::= root \"a\" | \"b\"")));
        assertTrue(e.getMessage().contains("left-recursive"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> CompiledGrammar.compile(GbnfParser.parse("root ::= \"a\" root")));
        assertTrue(e.getMessage().contains("never be satisfied"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> GbnfParser.parse("root ::= \"a"));
        assertTrue(e.getMessage().startsWith("GBNF line 1"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> GbnfParser.parse("rot ::= \"a\""));
        assertTrue(e.getMessage().contains("no 'root'"), e.getMessage());
    }
}
