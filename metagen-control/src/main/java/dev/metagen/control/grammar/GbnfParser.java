package dev.metagen.control.grammar;

import dev.metagen.core.MetagenException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses llama.cpp's GBNF grammar format ({@code grammars/README.md} in ggml-org/llama.cpp): rules
 * {@code name ::= alternatives}, string literals, character classes over code points, {@code .}, groups, and
 * repetition {@code * + ? {m} {m,} {m,n}}; {@code #} comments; newlines end a rule except inside parentheses or
 * after {@code |}. Generation starts at {@code root}.
 */
public final class GbnfParser {
    private final String src;
    private final int[] cps;
    private int i;
    private final Map<String, Expr> rules = new LinkedHashMap<>();

    private GbnfParser(String src) {
        this.src = src;
        this.cps = src.codePoints().toArray();
    }

    /**
     * Parses a GBNF grammar (llama.cpp's format); errors name the line and column.
     *
     * @param gbnf the grammar's text
     * @return the grammar, rooted at {@code root}
     */
    public static Grammar parse(String gbnf) {
        GbnfParser p = new GbnfParser(gbnf);
        p.grammar();
        if (p.rules.isEmpty()) {
            throw new MetagenException("GBNF grammar is empty");
        }
        if (!p.rules.containsKey("root")) {
            throw new MetagenException("GBNF grammar has no 'root' rule");
        }
        return new Grammar(p.rules, "root");
    }

    private MetagenException error(String what) {
        int line = 1;
        int col = 1;
        for (int k = 0; k < i && k < cps.length; k++) {
            if (cps[k] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new MetagenException("GBNF line " + line + ", column " + col + ": " + what);
    }

    private boolean at(int c) {
        return i < cps.length && cps[i] == c;
    }

    private void space(boolean newlines) {
        while (i < cps.length) {
            int c = cps[i];
            if (c == '#') {
                while (i < cps.length && cps[i] != '\n') {
                    i++;
                }
            } else if (c == ' ' || c == '\t' || ((c == '\n' || c == '\r') && newlines)) {
                i++;
            } else {
                return;
            }
        }
    }

    private static boolean nameChar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    private String name() {
        int start = i;
        while (i < cps.length && nameChar(cps[i])) {
            i++;
        }
        if (i == start) {
            throw error("expected a rule name");
        }
        return new String(cps, start, i - start);
    }

    private void grammar() {
        space(true);
        while (i < cps.length) {
            String name = name();
            space(false);
            if (!(at(':') && i + 2 < cps.length + 0 && cps[i + 1] == ':' && cps[i + 2] == '=')) {
                throw error("expected '::=' after rule name '" + name + "'");
            }
            i += 3;
            space(true);
            Expr body = alternates(name, false);
            if (rules.containsKey(name)) {
                // llama.cpp lets a later definition add alternatives
                body = new Expr.Alt(List.of(rules.get(name), body));
            }
            rules.put(name, body);
            if (i < cps.length && cps[i] != '\n' && cps[i] != '\r') {
                throw error("expected end of line after rule '" + name + "'");
            }
            space(true);
        }
    }

    private Expr alternates(String rule, boolean nested) {
        List<Expr> options = new ArrayList<>();
        options.add(sequence(rule, nested));
        while (at('|')) {
            i++;
            space(true);
            options.add(sequence(rule, nested));
        }
        return options.size() == 1 ? options.getFirst() : new Expr.Alt(options);
    }

    private Expr sequence(String rule, boolean nested) {
        CompileBudget.tick(1);
        List<Expr> items = new ArrayList<>();
        while (i < cps.length) {
            int c = cps[i];
            Expr atom;
            if (c == '"') {
                i++;
                atom = literal();
            } else if (c == '[') {
                i++;
                atom = charClass();
            } else if (c == '.') {
                i++;
                atom = Expr.chars(true); // any code point
            } else if (c == '(') {
                i++;
                space(true);
                atom = alternates(rule, true);
                if (!at(')')) {
                    throw error("expected ')'");
                }
                i++;
            } else if (nameChar(c)) {
                int save = i;
                String ref = name();
                int after = i;
                space(false);
                if (at(':') && i + 2 < cps.length && cps[i + 1] == ':' && cps[i + 2] == '=') {
                    i = save; // the next rule starts here (a rule ended without a newline)
                    throw error("expected end of line before rule '" + ref + "'");
                }
                i = after;
                atom = new Expr.Ref(ref);
            } else {
                break;
            }
            space(nested);
            atom = repetitions(atom);
            items.add(atom);
            space(nested);
        }
        return items.size() == 1 ? items.getFirst() : new Expr.Seq(items);
    }

    private Expr repetitions(Expr atom) {
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
            } else if (c == '{') {
                i++;
                space(false);
                min = number();
                space(false);
                max = min;
                if (at(',')) {
                    i++;
                    space(false);
                    max = at('}') ? -1 : number();
                    space(false);
                }
                if (!at('}')) {
                    throw error("expected '}'");
                }
                i++;
                if (max >= 0 && max < min) {
                    throw error("repetition {" + min + "," + max + "} has max < min");
                }
            } else {
                return atom;
            }
            atom = new Expr.Repeat(atom, min, max);
            space(false);
        }
        return atom;
    }

    private int number() {
        int start = i;
        long v = 0;
        while (i < cps.length && cps[i] >= '0' && cps[i] <= '9') {
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

    private Expr literal() {
        StringBuilder sb = new StringBuilder();
        while (i < cps.length && cps[i] != '"') {
            sb.appendCodePoint(charOrEscape());
        }
        if (!at('"')) {
            throw error("unterminated string literal");
        }
        i++;
        return Expr.literal(sb.toString());
    }

    private Expr charClass() {
        boolean negated = false;
        if (at('^')) {
            negated = true;
            i++;
        }
        List<Integer> ranges = new ArrayList<>();
        while (i < cps.length && cps[i] != ']') {
            int lo = charOrEscape();
            int hi = lo;
            if (at('-') && i + 1 < cps.length && cps[i + 1] != ']') {
                i++;
                hi = charOrEscape();
                if (hi < lo) {
                    throw error("character range out of order");
                }
            }
            ranges.add(lo);
            ranges.add(hi);
        }
        if (!at(']')) {
            throw error("unterminated character class");
        }
        i++;
        return new Expr.CharClass(ranges.stream().mapToInt(Integer::intValue).toArray(), negated, false);
    }

    private int charOrEscape() {
        if (i >= cps.length) {
            throw error("unexpected end of grammar");
        }
        int c = cps[i++];
        if (c != '\\') {
            return c;
        }
        if (i >= cps.length) {
            throw error("trailing backslash");
        }
        int e = cps[i++];
        return switch (e) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            case '\\', '"', '[', ']', '-', '^', '/', '.', '(', ')', '|', '*', '+', '?', '{', '}', '#' -> e;
            default -> throw error("unknown escape '\\" + new String(Character.toChars(e)) + "'");
        };
    }

    private int hex(int n) {
        int v = 0;
        for (int k = 0; k < n; k++) {
            if (i >= cps.length || Character.digit(cps[i], 16) < 0) {
                throw error("expected " + n + " hex digits");
            }
            v = v * 16 + Character.digit(cps[i++], 16);
        }
        if (v > 0x10FFFF) {
            throw error("code point out of range");
        }
        return v;
    }

    @Override
    public String toString() {
        return src;
    }
}
