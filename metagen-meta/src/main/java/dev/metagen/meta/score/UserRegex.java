package dev.metagen.meta.score;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import dev.metagen.core.MetagenException;

/**
 * A regular expression that comes from a user, a request or a spec, compiled on RE2/J: matching takes time linear
 * in the text, whatever the pattern. Backreferences, lookaround, atomic groups and possessive quantifiers (which need
 * backtracking) are refused, and so are nested counted repetitions that would expand beyond {@link #MAX_SIZE}.
 */
public final class UserRegex {
    /**
     * The most instructions a pattern may expand to (RE2/J has no limit of its own: {@code ((a{1000}){1000}){1000}}
     * exhausts the heap while compiling, and matching costs text length x program size).
     */
    public static final long MAX_SIZE = 10_000;

    private UserRegex() {
    }

    /**
     * Compiles {@code regex}; a pattern RE2/J cannot run is a {@link MetagenException} "invalid regular expression: ...".
     *
     * @param regex the expression (RE2 syntax)
     * @return the pattern
     */
    public static Pattern compile(String regex) {
        if (regex == null) {
            throw new MetagenException("invalid regular expression: none given");
        }
        long size = Size.of(regex);
        if (size > MAX_SIZE) {
            throw new MetagenException("invalid regular expression: it expands to about " + size
                    + " instructions (nested repetition counts), more than " + MAX_SIZE);
        }
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new MetagenException("invalid regular expression: " + explain(e));
        } catch (StackOverflowError e) {
            throw new MetagenException("invalid regular expression: nested too deeply");
        }
    }

    /** RE2/J's description, naming the backtracking features it lacks on purpose. */
    static String explain(PatternSyntaxException e) {
        String desc = e.getDescription() == null ? "" : e.getDescription();
        String at = e.getPattern() == null ? "" : e.getPattern();
        String why;
        if (desc.equals("invalid escape sequence") && at.matches("\\\\[1-9k].*")) {
            why = "backreferences are not supported";
        } else if (at.startsWith("(?=") || at.startsWith("(?!")) {
            why = "lookahead is not supported";
        } else if (at.startsWith("(?<=") || at.startsWith("(?<!")) {
            why = "lookbehind is not supported";
        } else if (at.startsWith("(?>")) {
            why = "atomic groups are not supported";
        } else if (desc.equals("invalid nested repetition operator") && at.endsWith("+")) {
            why = "possessive quantifiers are not supported";
        } else {
            return (desc.isEmpty() ? "syntax error" : desc) + (at.isEmpty() ? "" : ": `" + oneLine(at) + "`");
        }
        return why + " (linear-time engine)";
    }

    private static String oneLine(String s) {
        String t = s.replace("\n", "\\n").replace("\r", "\\r");
        return t.length() > 80 ? t.substring(0, 80) + "..." : t;
    }

    /**
     * An upper estimate of the compiled program's size read off the pattern text: every atom counts one, a group the
     * sum of its contents, and a counted repetition {@code {n,m}} multiplies what it repeats by its largest count.
     */
    static final class Size {
        private final String p;
        private int i;

        private Size(String p) {
            this.p = p;
        }

        static long of(String pattern) {
            Size s = new Size(pattern);
            long total = 0;
            while (s.i < pattern.length()) {
                total = sat(total + s.alternation());
                s.i++; // an unbalanced ')': RE2/J reports it
            }
            return total;
        }

        /** Branches up to a closing ')' (not consumed) or the end. */
        private long alternation() {
            long sum = 0;
            while (i < p.length() && p.charAt(i) != ')') {
                char c = p.charAt(i);
                if (c == '|') {
                    i++;
                    sum = sat(sum + 1);
                    continue;
                }
                long atom = atom();
                sum = sat(sum + quantified(atom));
            }
            return sum;
        }

        private long atom() {
            char c = p.charAt(i);
            switch (c) {
                case '(' -> {
                    i++;
                    long inner = alternation();
                    if (i < p.length()) {
                        i++; // ')'
                    }
                    return sat(inner + 1);
                }
                case '[' -> {
                    skipClass();
                    return 1;
                }
                case '\\' -> {
                    if (i + 1 < p.length() && p.charAt(i + 1) == 'Q') {
                        int end = p.indexOf("\\E", i + 2);
                        int stop = end < 0 ? p.length() : end + 2;
                        long n = Math.max(1, (end < 0 ? p.length() : end) - (i + 2));
                        i = stop;
                        return n;
                    }
                    i += Math.min(2, p.length() - i);
                    // \p{Name}, \x{HHHH}: one atom with a braced argument
                    if (i < p.length() && p.charAt(i) == '{' && i >= 2 && "pPx".indexOf(p.charAt(i - 1)) >= 0) {
                        int close = p.indexOf('}', i);
                        i = close < 0 ? p.length() : close + 1;
                    }
                    return 1;
                }
                default -> {
                    i++;
                    return 1;
                }
            }
        }

        /** Character classes can nest ('[[:alpha:]]') and escape ']'. */
        private void skipClass() {
            i++; // '['
            if (i < p.length() && p.charAt(i) == '^') {
                i++;
            }
            if (i < p.length() && p.charAt(i) == ']') {
                i++; // a leading ']' is literal
            }
            while (i < p.length()) {
                char c = p.charAt(i);
                if (c == '\\') {
                    i += 2;
                } else if (c == '[' && i + 1 < p.length() && p.charAt(i + 1) == ':') {
                    int close = p.indexOf(":]", i + 2);
                    i = close < 0 ? i + 1 : close + 2;
                } else if (c == ']') {
                    i++;
                    return;
                } else {
                    i++;
                }
            }
        }

        private long quantified(long atom) {
            long size = atom;
            while (i < p.length()) {
                char c = p.charAt(i);
                if (c == '*' || c == '+' || c == '?') {
                    i++;
                    size = sat(size + 1);
                } else if (c == '{') {
                    long max = counts();
                    if (max < 0) {
                        return size; // a literal '{', consumed as the next atom
                    }
                    size = sat(mul(size, Math.max(1, max)) + 1);
                } else {
                    return size;
                }
            }
            return size;
        }

        /** The largest count of {n}, {n,} (n + 1) or {n,m} at i, consuming it; -1 when it is not a repetition. */
        private long counts() {
            int j = i + 1;
            long n = 0;
            long m = -1;
            int digits = 0;
            while (j < p.length() && Character.isDigit(p.charAt(j))) {
                n = sat(mul(n, 10) + (p.charAt(j++) - '0'));
                digits++;
            }
            if (digits == 0) {
                return -1;
            }
            boolean open = false;
            if (j < p.length() && p.charAt(j) == ',') {
                j++;
                int md = 0;
                long mv = 0;
                while (j < p.length() && Character.isDigit(p.charAt(j))) {
                    mv = sat(mul(mv, 10) + (p.charAt(j++) - '0'));
                    md++;
                }
                if (md > 0) {
                    m = mv;
                } else {
                    open = true;
                }
            }
            if (j >= p.length() || p.charAt(j) != '}') {
                return -1;
            }
            i = j + 1;
            return open ? sat(n + 1) : Math.max(n, m);
        }

        private static final long CAP = Long.MAX_VALUE / 4;

        private static long sat(long v) {
            return v < 0 || v > CAP ? CAP : v;
        }

        private static long mul(long a, long b) {
            return b != 0 && a > CAP / b ? CAP : a * b;
        }
    }
}
