package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.metagen.control.grammar.GbnfParser;
import dev.metagen.control.grammar.Grammar;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exactness by brute force: over a small alphabet every string up to a length is classified by an independent
 * recogniser ({@link ExprOracle}, and java.util.regex for regexes); a token is allowed after a prefix exactly when
 * prefix+token is a prefix of some sentence, and EOS exactly when the prefix is a sentence. Random vocabularies
 * of multi-character tokens (and tokens splitting UTF-8 characters) exercise the trie walk.
 */
class MaskExactnessTest {

    static List<Arguments> cases() {
        return List.of(
                Arguments.of("regex", "a+b*", "ab"),
                Arguments.of("regex", "(ab|a[0-9]{1,2})c?", "abc01"),
                Arguments.of("regex", "[a-c]{2,3}(-[a-c])*", "abc-"),
                Arguments.of("regex", "x?(yy|y)+z", "xyz"),
                Arguments.of("regex", "(a|b)*abb", "ab"),
                Arguments.of("regex", "[^a]b?", "abéq"),
                Arguments.of("regex", "é+|ab", "aéb"),
                Arguments.of("regex", "\\d{2}:\\d{2}", "12:"),
                Arguments.of("regex", "[^a]*b", "abé€q"),
                Arguments.of("regex", "x[^\"\\\\]*\"", "x\"é\\q"),
                Arguments.of("gbnf", "root ::= \"(\" inner \")\"\ninner ::= (\"a\" | \"(\" inner \")\")*", "()a"),
                Arguments.of("gbnf", "root ::= item (\",\" item){0,2}\nitem ::= [0-9] | \"[\" root \"]\"", "1,[]"),
                Arguments.of("gbnf", "root ::= [a-b]+ | \"\\u00e9\" root", "abé"),
                Arguments.of("choice", "ab|abc|b|", "abc"));
    }

    private static final int MAX_LEN = 8;
    /** prefix + token up to this many bytes is checked: every viable one completes within MAX_LEN here. */
    private static final int CHECK_LEN = 3;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void maskEqualsBruteForce(String kind, String source, String alphabet) {
        Grammar g = switch (kind) {
            case "regex" -> Constraints.regexGrammar(source);
            case "gbnf" -> GbnfParser.parse(source);
            default -> Constraints.choiceGrammar(List.of(source.split("\\|", -1)));
        };
        ExprOracle oracle = new ExprOracle(g);
        Pattern javaRegex = kind.equals("regex") ? Pattern.compile(source) : null;
        // alphabet as byte strings of its code points
        List<byte[]> symbols = new ArrayList<>();
        alphabet.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)));
        Set<String> language = new HashSet<>();
        Set<String> prefixes = new HashSet<>();
        List<byte[]> frontier = new ArrayList<>();
        frontier.add(new byte[0]);
        for (int len = 0; len <= MAX_LEN; len++) {
            List<byte[]> next = new ArrayList<>();
            for (byte[] s : frontier) {
                if (oracle.matches(s)) {
                    String key = hex(s);
                    language.add(key);
                    if (javaRegex != null) {
                        assertTrue(javaRegex.matcher(new String(s, StandardCharsets.UTF_8)).matches(), "java.util.regex disagrees on " + new String(s, StandardCharsets.UTF_8));
                    }
                    for (int k = 0; k <= s.length; k++) {
                        prefixes.add(hex(java.util.Arrays.copyOf(s, k)));
                    }
                } else if (javaRegex != null) {
                    assertTrue(!javaRegex.matcher(new String(s, StandardCharsets.UTF_8)).matches(), "java.util.regex disagrees on " + new String(s, StandardCharsets.UTF_8));
                }
                if (len < MAX_LEN) {
                    for (byte[] sym : symbols) {
                        byte[] t = java.util.Arrays.copyOf(s, s.length + sym.length);
                        System.arraycopy(sym, 0, t, s.length, sym.length);
                        if (t.length <= MAX_LEN) {
                            next.add(t);
                        }
                    }
                }
            }
            frontier = next;
        }
        assertTrue(!language.isEmpty(), "test language is empty");
        // vocabulary: every single byte of the alphabet's encodings, plus random 2..3-symbol tokens and split chars
        Random rnd = new Random(source.hashCode());
        Set<String> seen = new HashSet<>();
        List<byte[]> vocab = new ArrayList<>();
        for (byte[] sym : symbols) {
            for (byte b : sym) {
                if (seen.add(hex(new byte[] {b}))) {
                    vocab.add(new byte[] {b});
                }
            }
            if (sym.length > 1 && seen.add(hex(sym))) {
                vocab.add(sym);
            }
        }
        vocab.add("q".getBytes(StandardCharsets.UTF_8)); // never allowed
        for (int k = 0; k < 40; k++) {
            int n = 2 + rnd.nextInt(2);
            byte[] t = new byte[0];
            for (int j = 0; j < n; j++) {
                byte[] sym = symbols.get(rnd.nextInt(symbols.size()));
                t = java.util.Arrays.copyOf(t, t.length + sym.length);
                System.arraycopy(sym, 0, t, t.length - sym.length, sym.length);
            }
            if (rnd.nextInt(4) == 0 && t.length > 1) {
                t = java.util.Arrays.copyOf(t, t.length - 1); // may end inside a UTF-8 character
            }
            if (seen.add(hex(t))) {
                vocab.add(t);
            }
        }
        TestTokenizer tok = new TestTokenizer(vocab);
        GrammarConstraint c = GrammarConstraint.of(g, tok, kind);
        int checked = 0;
        for (String p : prefixes) {
            byte[] prefix = unhex(p);
            if (prefix.length > 3) {
                continue;
            }
            if (source.contains("[^") && prefix.length > 0 && !Vocabulary.validUtf8(prefix)) {
                // a negated class admits characters outside the enumerated alphabet: mid-character prefixes
                // have continuations the enumeration cannot see
                continue;
            }
            ConstraintState st = c.afterBytes(prefix);
            for (int id = 0; id < tok.vocabSize(); id++) {
                boolean expected;
                if (id == tok.eos()) {
                    expected = language.contains(p);
                } else {
                    byte[] t = tok.tokenBytes(id);
                    byte[] both = java.util.Arrays.copyOf(prefix, prefix.length + t.length);
                    System.arraycopy(t, 0, both, prefix.length, t.length);
                    if (both.length > CHECK_LEN) {
                        continue;
                    }
                    expected = prefixes.contains(hex(both));
                }
                int token = id;
                assertEquals(expected, st.isAllowed(id), () -> kind + " " + source + ": prefix '" + new String(prefix, StandardCharsets.UTF_8)
                        + "' token '" + new String(tok.tokenBytes(token), StandardCharsets.UTF_8) + "'");
                checked++;
            }
            assertEquals(language.contains(p), st.isComplete());
        }
        assertTrue(checked > 20, "too few checks: " + checked);
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    static byte[] unhex(String s) {
        return java.util.HexFormat.of().parseHex(s);
    }
}
