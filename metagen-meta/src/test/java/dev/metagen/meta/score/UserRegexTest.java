package dev.metagen.meta.score;

import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.core.Generator;
import dev.metagen.meta.testing.CategoricalGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** User-supplied regular expressions run on RE2/J: backtracking-only features and size bombs are refused at parse time. */
class UserRegexTest {
    private static final Generator FAKE = new CategoricalGenerator(new String[]{"1"}, new double[]{1});
    private static final LeafFactory LEAVES = new LeafFactory() {
        @Override
        public Set<String> types() {
            return Set.of("sample");
        }

        @Override
        public Generator create(String type, SpecNode node) {
            return FAKE;
        }
    };

    private static String refusal(String pattern) {
        return assertThrows(MetagenException.class, () -> UserRegex.compile(pattern)).getMessage();
    }

    @Test
    void backtrackingOnlyFeaturesAreRefusedWithAOneLineReason() {
        assertEquals("invalid regular expression: backreferences are not supported (linear-time engine)", refusal("^(a+)+\\1b"));
        assertEquals("invalid regular expression: backreferences are not supported (linear-time engine)", refusal("(?P<x>a)\\k<x>"));
        assertEquals("invalid regular expression: lookahead is not supported (linear-time engine)", refusal("a(?=b)"));
        assertEquals("invalid regular expression: lookahead is not supported (linear-time engine)", refusal("a(?!b)"));
        assertEquals("invalid regular expression: lookbehind is not supported (linear-time engine)", refusal("(?<=a)b"));
        assertEquals("invalid regular expression: lookbehind is not supported (linear-time engine)", refusal("(?<!a)b"));
        assertEquals("invalid regular expression: atomic groups are not supported (linear-time engine)", refusal("(?>a+)b"));
        assertEquals("invalid regular expression: possessive quantifiers are not supported (linear-time engine)", refusal("a++b"));
        assertEquals("invalid regular expression: missing closing ): `(`", refusal("("));
        assertEquals("invalid regular expression: none given", refusal(null));
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void nestedRepetitionCountsThatWouldExhaustTheHeapAreRefusedBeforeCompiling() {
        // RE2/J alone spends tens of seconds and then runs out of memory compiling these
        for (String bomb : new String[]{"((a{1000}){1000}){1000}", "(((a{100}){100}){100}){100}", "(?:x{999}){999}",
                "[ab]{1000}{1000}", "(a{5,}){99999999999999999999}"}) {
            String m = refusal(bomb);
            assertTrue(m.startsWith("invalid regular expression: it expands to about ") && m.endsWith("more than " + UserRegex.MAX_SIZE), m);
        }
        // the estimate leaves ordinary counted patterns alone
        assertTrue(UserRegex.compile("\\d{1,3}(,\\d{3})*(\\.\\d{1,2})?").matcher("1,234.50").matches());
        assertTrue(UserRegex.compile("[a-z]{1,1000}").matcher("abc").matches());
        assertTrue(UserRegex.compile("(?:x{2}){3}").matcher("xxxxxx").matches());
        assertTrue(UserRegex.compile("a{,3}").matcher("a{,3}").matches(), "a '{' that starts no count is a literal");
        assertTrue(UserRegex.compile("[{]{3}").matcher("{{{").matches());
        assertTrue(UserRegex.compile("\\Q(a{9}){9}\\E").matcher("(a{9}){9}").matches());
    }

    @Test
    void theSizeEstimateMultipliesNestedCounts() {
        assertEquals(1, UserRegex.Size.of("a"));
        assertTrue(UserRegex.Size.of("(a{100}){100}") >= 10_000);
        assertTrue(UserRegex.Size.of("[(]{100}") < 200, "a '(' inside a class opens no group");
        assertTrue(UserRegex.Size.of("\\({100}") < 200, "an escaped '(' opens no group");
    }

    @Test
    void aPathologicalButValidPatternFinishesQuicklyOnALongText() {
        // (a+)+b backtracks exponentially in java.util.regex; RE2/J is linear in the text
        String text = "a".repeat(200_000);
        long t0 = System.nanoTime();
        assertEquals(Optional.empty(), AnswerExtractors.regex("(a+)+b", 1).extract(text));
        assertFalse(RegexVerifier.of("^(a+)+b$").verify(Prompt.of(""), ScoreTest.gen(text)).accepted());
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(seconds < 2, "took " + seconds + " s");
    }

    @Test
    void extractorsAndVerifiersKeepTheirMeaning() {
        assertEquals(Optional.of("B"), AnswerExtractors.regex("answer is (\\w)", 1).extract("answer is A... answer is B"));
        assertEquals(Optional.of("42"), AnswerExtractors.regex("(?i)ANSWER: *(\\d+)", 1).extract("answer: 42"));
        assertEquals("the pattern has fewer than 2 groups",
                assertThrows(MetagenException.class, () -> AnswerExtractors.regex("(a)", 2)).getMessage());
    }

    @Test
    void specsRefuseTheBackreferenceExtractorNamingTheField(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        StrategySpecs specs = new StrategySpecs(LEAVES);
        String chain = "{\"type\":\"chain\",\"links\":[{\"kind\":\"generate\",\"as\":\"out\",\"generator\":{\"type\":\"sample\"}},"
                + "{\"kind\":\"parse\",\"as\":\"answer\",\"from\":\"out\",\"extractor\":{\"type\":\"regex\",\"pattern\":\"^(a+)+\\\\1b\"}}]}";
        String m = assertThrows(MetagenException.class, () -> specs.parse(chain)).getMessage();
        assertTrue(m.endsWith(".extractor.pattern: invalid regular expression: backreferences are not supported (linear-time engine)"), m);
        assertTrue(m.startsWith("$.links"), m);
        String vote = "{\"type\":\"majority_vote\",\"inner\":{\"type\":\"sample\"},\"extractor\":{\"type\":\"regex\",\"pattern\":\"(?<=x)y\"}}";
        assertEquals("$.extractor.pattern: invalid regular expression: lookbehind is not supported (linear-time engine)",
                assertThrows(MetagenException.class, () -> specs.parse(vote)).getMessage());
        String verifier = "{\"type\":\"rejection_sampling\",\"inner\":{\"type\":\"sample\"},\"verifier\":{\"type\":\"regex\",\"pattern\":\"(a)\\\\1\"}}";
        assertEquals("$.verifier.pattern: invalid regular expression: backreferences are not supported (linear-time engine)",
                assertThrows(MetagenException.class, () -> specs.parse(verifier)).getMessage());
        String refine = "{\"type\":\"self_refine\",\"inner\":{\"type\":\"sample\"},\"stop_pattern\":\"(?=ok)\"}";
        assertEquals("$.stop_pattern: invalid regular expression: lookahead is not supported (linear-time engine)",
                assertThrows(MetagenException.class, () -> specs.parse(refine)).getMessage());
        String search = "{\"type\":\"step_beam_search\",\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"logprob\"},\"final_pattern\":\"((a{1000}){1000}){1000}\"}";
        assertTrue(assertThrows(MetagenException.class, () -> specs.parse(search)).getMessage()
                .startsWith("$.final_pattern: invalid regular expression: it expands to about "));
        String group = "{\"type\":\"majority_vote\",\"inner\":{\"type\":\"sample\"},\"extractor\":{\"type\":\"regex\",\"pattern\":\"a\",\"group\":1}}";
        assertEquals("$.extractor.group: the pattern has fewer than 1 groups", assertThrows(MetagenException.class, () -> specs.parse(group)).getMessage());
        // the documented @FILE form of a spec file
        Path f = dir.resolve("vote.json");
        Files.writeString(f, "{\"type\":\"majority_vote\",\"inner\":{\"type\":\"sample\"},\"extractor\":{\"type\":\"regex\",\"pattern\":\"(\\\\d+)\"}}");
        assertEquals("majority_vote", specs.parse("@" + f).type());
    }
}
