package dev.metagen.control.grammar;

import java.util.List;

/** A grammar expression over UTF-8 text (the common form that GBNF, regexes, JSON Schema and choices compile to). */
public sealed interface Expr {

    /** An exact byte string (a literal's UTF-8 bytes). */
    record Literal(byte[] bytes) implements Expr {}

    /**
     * A set of code points given as inclusive ranges, {@code negated} meaning every other code point. With
     * {@code bytes} true the ranges are raw byte values 0..255 instead (one byte, no UTF-8 encoding).
     */
    record CharClass(int[] ranges, boolean negated, boolean bytes) implements Expr {}

    /** A reference to a named rule. */
    record Ref(String name) implements Expr {}

    record Seq(List<Expr> items) implements Expr {}

    record Alt(List<Expr> options) implements Expr {}

    /** {@code item} repeated between {@code min} and {@code max} times; {@code max < 0} means unbounded. */
    record Repeat(Expr item, int min, int max) implements Expr {}

    static Expr literal(String s) {
        return new Literal(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static Expr seq(Expr... items) {
        return new Seq(List.of(items));
    }

    static Expr alt(Expr... options) {
        return new Alt(List.of(options));
    }

    static Expr empty() {
        return new Seq(List.of());
    }

    static Expr chars(boolean negated, int... ranges) {
        return new CharClass(ranges, negated, false);
    }
}
