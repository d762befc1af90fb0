package dev.metagen.control;

import dev.metagen.control.grammar.Expr;
import dev.metagen.control.grammar.Grammar;
import dev.metagen.control.grammar.Utf8Ranges;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A naive, independent recogniser for tests: the set of end positions of each expression at each start
 * position, by direct recursion over the {@link Expr} tree (no compilation, no automaton). Grammars must not be
 * left-recursive.
 */
final class ExprOracle {
    private final Grammar g;
    private byte[] in;
    private final Map<String, BitSet> memo = new HashMap<>();

    ExprOracle(Grammar g) {
        this.g = g;
    }

    boolean matches(byte[] input) {
        in = input;
        memo.clear();
        return ends(new Expr.Ref(g.root()), 0).get(input.length);
    }

    private BitSet ends(Expr e, int i) {
        BitSet out = new BitSet();
        switch (e) {
            case Expr.Literal(byte[] b) -> {
                if (i + b.length <= in.length && java.util.Arrays.equals(in, i, i + b.length, b, 0, b.length)) {
                    out.set(i + b.length);
                }
            }
            case Expr.CharClass c -> {
                if (i < in.length) {
                    if (c.bytes()) {
                        int v = in[i] & 0xFF;
                        if (inRanges(c.ranges(), v) != c.negated()) {
                            out.set(i + 1);
                        }
                    } else {
                        int[] cp = decode(i);
                        if (cp != null && inRanges(Utf8Ranges.normalize(c.ranges(), c.negated()), cp[0])) {
                            out.set(i + cp[1]);
                        }
                    }
                }
            }
            case Expr.Ref(String name) -> {
                String key = name + "@" + i;
                BitSet m = memo.get(key);
                if (m == null) {
                    memo.put(key, new BitSet()); // guards cycles (none without left recursion)
                    m = ends(g.rules().get(name), i);
                    memo.put(key, m);
                }
                out.or(m);
            }
            case Expr.Seq(List<Expr> items) -> {
                BitSet cur = new BitSet();
                cur.set(i);
                for (Expr it : items) {
                    BitSet next = new BitSet();
                    for (int p = cur.nextSetBit(0); p >= 0; p = cur.nextSetBit(p + 1)) {
                        next.or(ends(it, p));
                    }
                    cur = next;
                }
                out.or(cur);
            }
            case Expr.Alt(List<Expr> options) -> {
                for (Expr o : options) {
                    out.or(ends(o, i));
                }
            }
            case Expr.Repeat(Expr item, int min, int max) -> {
                BitSet cur = new BitSet();
                cur.set(i);
                BitSet seen = new BitSet();
                for (int k = 0; max < 0 || k <= max; k++) {
                    if (k >= min) {
                        out.or(cur);
                    }
                    if (k >= min && max < 0) {
                        BitSet fresh = (BitSet) cur.clone();
                        fresh.andNot(seen);
                        if (fresh.isEmpty()) {
                            break;
                        }
                        seen.or(cur);
                    }
                    if (k == max) {
                        break;
                    }
                    BitSet next = new BitSet();
                    for (int p = cur.nextSetBit(0); p >= 0; p = cur.nextSetBit(p + 1)) {
                        next.or(ends(item, p));
                    }
                    if (next.isEmpty()) {
                        break;
                    }
                    cur = next;
                }
            }
        }
        return out;
    }

    private static boolean inRanges(int[] r, int v) {
        for (int k = 0; k < r.length; k += 2) {
            if (v >= r[k] && v <= r[k + 1]) {
                return true;
            }
        }
        return false;
    }

    /** {code point, length} of the valid UTF-8 character at i, or null. */
    private int[] decode(int i) {
        int b0 = in[i] & 0xFF;
        int len = b0 < 0x80 ? 1 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : b0 >= 0xE0 && b0 < 0xF0 ? 3 : b0 >= 0xF0 && b0 < 0xF5 ? 4 : 0;
        if (len == 0 || i + len > in.length) {
            return null;
        }
        String s = new String(in, i, len, java.nio.charset.StandardCharsets.UTF_8);
        int cp = s.codePointAt(0);
        if (cp == 0xFFFD || Character.charCount(cp) != s.length()) {
            return null;
        }
        byte[] re = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (!java.util.Arrays.equals(re, 0, re.length, in, i, i + len)) {
            return null;
        }
        return new int[] {cp, len};
    }
}
