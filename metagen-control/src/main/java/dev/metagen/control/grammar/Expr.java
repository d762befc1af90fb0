package dev.metagen.control.grammar;

import java.util.List;

/** A grammar expression over UTF-8 text (the common form that GBNF, regexes, JSON Schema and choices compile to). */
public sealed interface Expr {

    /**
     * An exact byte string (a literal's UTF-8 bytes).
     *
     * @param bytes the bytes
     */
    record Literal(byte[] bytes) implements Expr {}

    /**
     * A set of code points given as inclusive ranges, {@code negated} meaning every other code point. With
     * {@code bytes} true the ranges are raw byte values 0..255 instead (one byte, no UTF-8 encoding).
     *
     * @param ranges inclusive ranges as pairs {@code lo, hi}
     * @param negated whether the class is every code point outside the ranges
     * @param bytes whether the ranges are raw byte values
     */
    record CharClass(int[] ranges, boolean negated, boolean bytes) implements Expr {}

    /**
     * A reference to a named rule.
     *
     * @param name the rule's name
     */
    record Ref(String name) implements Expr {}

    /**
     * A sequence: every item in order.
     *
     * @param items the items
     */
    record Seq(List<Expr> items) implements Expr {}

    /**
     * An alternation: any one option.
     *
     * @param options the options
     */
    record Alt(List<Expr> options) implements Expr {}

    /**
     * {@code item} repeated between {@code min} and {@code max} times; {@code max < 0} means unbounded.
     *
     * @param item the repeated expression
     * @param min the fewest repetitions
     * @param max the most repetitions, or a negative value for unbounded
     */
    record Repeat(Expr item, int min, int max) implements Expr {}

    /**
     * The UTF-8 bytes of {@code s}.
     *
     * @param s the text
     * @return a literal
     */
    static Expr literal(String s) {
        return new Literal(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * A sequence of {@code items}.
     *
     * @param items the items
     * @return the sequence
     */
    static Expr seq(Expr... items) {
        return new Seq(List.of(items));
    }

    /**
     * An alternation of {@code options}.
     *
     * @param options the options
     * @return the alternation
     */
    static Expr alt(Expr... options) {
        return new Alt(List.of(options));
    }

    /**
     * The empty sequence (matches nothing but the empty string).
     *
     * @return the empty expression
     */
    static Expr empty() {
        return new Seq(List.of());
    }

    /**
     * A character class over code points.
     *
     * @param negated whether the class is every code point outside the ranges
     * @param ranges inclusive ranges as pairs {@code lo, hi}
     * @return the class
     */
    static Expr chars(boolean negated, int... ranges) {
        return new CharClass(ranges, negated, false);
    }
}
