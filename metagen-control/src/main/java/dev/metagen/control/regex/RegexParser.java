package dev.metagen.control.regex;

import dev.metagen.control.grammar.CompileBudget;
import dev.metagen.control.grammar.Expr;
import dev.metagen.core.MetagenException;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses a regular expression in the usual (ECMAScript/PCRE subset) syntax into a grammar {@link Expr} over
 * code points: literals, escapes, classes, {@code .}, groups, alternation, {@code * + ? {m} {m,} {m,n}}. The match is
 * implicitly anchored at both ends ({@code ^}/{@code $} at the ends are accepted and ignored); back-references
 * and look-around are rejected since they are not regular.
 */
public final class RegexParser {
    private final String src;
    private final int[] cps;
    private int i;

    private RegexParser(String src) {
        this.src = src;
        this.cps = src.codePoints().toArray();
    }

    /**
     * Parses {@code regex}; back-references and look-around are refused.
     *
     * @param regex the pattern
     * @return the expression
     */
    public static Expr parse(String regex) {
        RegexParser p = new RegexParser(regex);
        if (p.peekIs('^')) {
            p.i++;
        }
        Expr e = p.alternation();
        if (p.i < p.cps.length) {
            throw p.error("unexpected '" + new String(Character.toChars(p.cps[p.i])) + "'");
        }
        return e;
    }

    private MetagenException error(String what) {
        return new MetagenException("regex /" + src + "/ at position " + i + ": " + what);
    }

    private boolean peekIs(int c) {
        return i < cps.length && cps[i] == c;
    }

    private Expr alternation() {
        List<Expr> options = new ArrayList<>();
        options.add(concatenation());
        while (peekIs('|')) {
            i++;
            options.add(concatenation());
        }
        return options.size() == 1 ? options.getFirst() : new Expr.Alt(options);
    }

    private Expr concatenation() {
        List<Expr> items = new ArrayList<>();
        while (i < cps.length && cps[i] != '|' && cps[i] != ')') {
            if (cps[i] == '$' && (i == cps.length - 1 || cps[i + 1] == '|' || cps[i + 1] == ')')) {
                i++; // end anchor: matches are anchored anyway
                continue;
            }
            if (cps[i] == '^' && items.isEmpty()) {
                i++;
                continue;
            }
            Expr atom = atom();
            items.add(quantifiers(atom));
        }
        return items.size() == 1 ? items.getFirst() : new Expr.Seq(items);
    }

    private Expr quantifiers(Expr atom) {
        while (i < cps.length) {
            int c = cps[i];
            int min, max;
            if (c == '*') {
                min = 0;
                max = -1;
                i++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                i++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                i++;
            } else if (c == '{' && isBound()) {
                i++;
                min = number();
                max = min;
                if (peekIs(',')) {
                    i++;
                    max = peekIs('}') ? -1 : number();
                }
                i++; // '}'
                if (max >= 0 && max < min) {
                    throw error("repetition {" + min + "," + max + "} has max < min");
                }
            } else {
                return atom;
            }
            if (peekIs('?') || peekIs('+')) {
                i++; // lazy/possessive: same language
            }
            atom = new Expr.Repeat(atom, min, max);
        }
        return atom;
    }

    private boolean isBound() {
        int j = i + 1;
        int digits = 0;
        while (j < cps.length && Character.isDigit(cps[j])) {
            j++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        if (j < cps.length && cps[j] == ',') {
            j++;
            while (j < cps.length && Character.isDigit(cps[j])) {
                j++;
            }
        }
        return j < cps.length && cps[j] == '}';
    }

    private int number() {
        int start = i;
        long v = 0;
        while (i < cps.length && Character.isDigit(cps[i])) {
            v = v * 10 + (cps[i] - '0');
            if (v > 100_000) {
                throw error("repetition bound too large");
            }
            i++;
        }
        if (i == start) {
            throw error("expected a number");
        }
        return (int) v;
    }

    private Expr atom() {
        CompileBudget.tick(1);
        int c = cps[i];
        switch (c) {
            case '(' -> {
                i++;
                if (peekIs('?')) {
                    i++;
                    if (peekIs(':')) {
                        i++;
                    } else if (peekIs('P') || (peekIs('<') && i + 1 < cps.length && cps[i + 1] != '=' && cps[i + 1] != '!')) {
                        while (i < cps.length && cps[i] != '>') {
                            i++;
                        }
                        i++;
                    } else {
                        throw error("look-around and inline flags are not supported");
                    }
                }
                Expr e = alternation();
                if (!peekIs(')')) {
                    throw error("missing ')'");
                }
                i++;
                return e;
            }
            case '[' -> {
                return charClass();
            }
            case '.' -> {
                i++;
                return Expr.chars(true, '\n', '\n');
            }
            case '\\' -> {
                i++;
                return escape(false);
            }
            case '*', '+', '?' -> throw error("nothing to repeat");
            case ')' -> throw error("unbalanced ')'");
            default -> {
                i++;
                return Expr.chars(false, c, c);
            }
        }
    }

    /** An escape after the backslash; in a class, returns a CharClass as well. */
    private Expr escape(boolean inClass) {
        if (i >= cps.length) {
            throw error("trailing backslash");
        }
        int c = cps[i++];
        return switch (c) {
            case 'd' -> Expr.chars(false, '0', '9');
            case 'D' -> Expr.chars(true, '0', '9');
            case 'w' -> Expr.chars(false, 'a', 'z', 'A', 'Z', '0', '9', '_', '_');
            case 'W' -> Expr.chars(true, 'a', 'z', 'A', 'Z', '0', '9', '_', '_');
            case 's' -> Expr.chars(false, ' ', ' ', '\t', '\r', 0x0B, 0x0C);
            case 'S' -> Expr.chars(true, ' ', ' ', '\t', '\r', 0x0B, 0x0C);
            case 'b', 'B', 'A', 'z', 'Z' -> {
                if (inClass && c == 'b') {
                    yield Expr.chars(false, 8, 8);
                }
                throw error("assertion \\" + (char) c + " is not supported");
            }
            default -> {
                if (c >= '1' && c <= '9' && !inClass) {
                    throw error("back-references are not regular");
                }
                int cp = escapedCodePoint(c);
                yield Expr.chars(false, cp, cp);
            }
        };
    }

    private int escapedCodePoint(int c) {
        return switch (c) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'f' -> '\f';
            case 'v' -> 0x0B;
            case '0' -> 0;
            case 'x' -> hex(2);
            case 'u' -> {
                if (peekIs('{')) {
                    i++;
                    int start = i;
                    while (i < cps.length && cps[i] != '}') {
                        i++;
                    }
                    int v = parseHex(start, i);
                    i++;
                    yield v;
                }
                yield hex(4);
            }
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    throw error("unknown escape \\" + new String(Character.toChars(c)));
                }
                yield c;
            }
        };
    }

    private int hex(int n) {
        if (i + n > cps.length) {
            throw error("truncated hex escape");
        }
        int v = parseHex(i, i + n);
        i += n;
        return v;
    }

    private int parseHex(int from, int to) {
        int v = 0;
        if (from == to) {
            throw error("empty hex escape");
        }
        for (int k = from; k < to; k++) {
            int d = Character.digit(cps[k], 16);
            if (d < 0) {
                throw error("bad hex digit");
            }
            v = v * 16 + d;
            if (v > 0x10FFFF) {
                throw error("code point out of range");
            }
        }
        return v;
    }

    private Expr charClass() {
        i++; // '['
        boolean negated = false;
        if (peekIs('^')) {
            negated = true;
            i++;
        }
        List<Integer> ranges = new ArrayList<>();
        List<Expr.CharClass> negatedParts = new ArrayList<>();
        boolean first = true;
        while (i < cps.length && (cps[i] != ']' || first)) {
            first = false;
            int lo;
            if (cps[i] == '[' && i + 1 < cps.length && cps[i + 1] == ':') {
                throw error("POSIX classes are not supported");
            }
            if (cps[i] == '\\') {
                i++;
                Expr.CharClass e = (Expr.CharClass) escape(true);
                int[] r = e.ranges();
                if (e.negated()) {
                    negatedParts.add(e);
                    continue;
                }
                if (r.length != 2 || r[0] != r[1]) {
                    for (int v : r) {
                        ranges.add(v);
                    }
                    continue;
                }
                lo = r[0];
            } else {
                lo = cps[i++];
            }
            int hi = lo;
            if (i + 1 < cps.length && cps[i] == '-' && cps[i + 1] != ']') {
                i++;
                if (cps[i] == '\\') {
                    i++;
                    Expr.CharClass e = (Expr.CharClass) escape(true);
                    if (e.negated() || e.ranges().length != 2 || e.ranges()[0] != e.ranges()[1]) {
                        throw error("bad class range");
                    }
                    hi = e.ranges()[0];
                } else {
                    hi = cps[i++];
                }
                if (hi < lo) {
                    throw error("class range out of order");
                }
            }
            ranges.add(lo);
            ranges.add(hi);
        }
        if (!peekIs(']')) {
            throw error("missing ']'");
        }
        i++;
        int[] r = ranges.stream().mapToInt(Integer::intValue).toArray();
        if (!negatedParts.isEmpty()) {
            // [x\D] = x ∪ complement(D): fold each complemented part into positive ranges
            List<Integer> all = new ArrayList<>(ranges);
            for (Expr.CharClass part : negatedParts) {
                for (int v : dev.metagen.control.grammar.Utf8Ranges.normalize(part.ranges(), true)) {
                    all.add(v);
                }
            }
            r = all.stream().mapToInt(Integer::intValue).toArray();
        }
        return new Expr.CharClass(r, negated, false);
    }
}
