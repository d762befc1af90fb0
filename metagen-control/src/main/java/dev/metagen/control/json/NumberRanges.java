package dev.metagen.control.json;

import dev.metagen.control.grammar.Expr;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Exact grammars for JSON numbers within integer bounds (the digit-range construction of llama.cpp's
 * {@code json-schema-to-grammar} {@code _generate_min_max_int}, extended to decimals without exponent).
 */
final class NumberRanges {
    private NumberRanges() {}

    static final Expr DIGIT = Expr.chars(false, '0', '9');
    private static final Expr NONZERO = Expr.chars(false, '1', '9');

    /** Decimal digit strings (no leading zeros) of the integers in [lo, hi]; hi null = unbounded; lo >= 0. */
    static Expr naturals(BigInteger lo, BigInteger hi) {
        List<Expr> alts = new ArrayList<>();
        String a = lo.toString();
        int maxLen = hi == null ? a.length() : hi.toString().length();
        for (int len = a.length(); len <= maxLen; len++) {
            BigInteger from = len == 1 ? BigInteger.ZERO : BigInteger.TEN.pow(len - 1);
            BigInteger to = BigInteger.TEN.pow(len).subtract(BigInteger.ONE);
            from = from.max(lo);
            if (hi != null) {
                to = to.min(hi);
            }
            if (from.compareTo(to) <= 0) {
                alts.add(sameLength(from.toString(), to.toString()));
            }
        }
        if (hi == null) {
            // every number with more digits than lo
            alts.add(Expr.seq(NONZERO, new Expr.Repeat(DIGIT, a.length(), -1)));
        }
        if (alts.isEmpty()) {
            return new Expr.Alt(List.of());
        }
        return alts.size() == 1 ? alts.getFirst() : new Expr.Alt(alts);
    }

    /** Digit strings s with a <= s <= b, all three of the same length. */
    private static Expr sameLength(String a, String b) {
        if (a.isEmpty()) {
            return Expr.empty();
        }
        if (a.chars().allMatch(ch -> ch == '0') && b.chars().allMatch(ch -> ch == '9')) {
            return new Expr.Repeat(DIGIT, a.length(), a.length()); // every digit string: stays linear in the length
        }
        char a0 = a.charAt(0);
        char b0 = b.charAt(0);
        String ar = a.substring(1);
        String br = b.substring(1);
        if (a0 == b0) {
            return Expr.seq(Expr.chars(false, a0, a0), sameLength(ar, br));
        }
        List<Expr> alts = new ArrayList<>();
        alts.add(Expr.seq(Expr.chars(false, a0, a0), sameLength(ar, "9".repeat(ar.length()))));
        if (b0 - a0 > 1) {
            alts.add(Expr.seq(Expr.chars(false, a0 + 1, b0 - 1), new Expr.Repeat(DIGIT, ar.length(), ar.length())));
        }
        alts.add(Expr.seq(Expr.chars(false, b0, b0), sameLength("0".repeat(br.length()), br)));
        return new Expr.Alt(alts);
    }

    /** Integers in [lo, hi] (either may be null for unbounded), written without a fraction. */
    static Expr integers(BigInteger lo, BigInteger hi) {
        List<Expr> alts = new ArrayList<>();
        // non-negative part
        if (hi == null || hi.signum() >= 0) {
            BigInteger from = lo == null ? BigInteger.ZERO : lo.max(BigInteger.ZERO);
            if (hi == null || from.compareTo(hi) <= 0) {
                alts.add(naturals(from, hi));
            }
        }
        // negative part: -m with m in [max(1, -hi), -lo]
        if (lo == null || lo.signum() < 0) {
            BigInteger mFrom = hi == null ? BigInteger.ONE : hi.negate().max(BigInteger.ONE);
            BigInteger mTo = lo == null ? null : lo.negate();
            if (mTo == null || mFrom.compareTo(mTo) <= 0) {
                alts.add(Expr.seq(Expr.literal("-"), naturals(mFrom, mTo)));
            }
        }
        if (alts.isEmpty()) {
            return new Expr.Alt(List.of());
        }
        return alts.size() == 1 ? alts.getFirst() : new Expr.Alt(alts);
    }

    private static final Expr ANY_FRACTION = new Expr.Repeat(Expr.seq(Expr.literal("."), new Expr.Repeat(DIGIT, 1, -1)), 0, 1);
    private static final Expr ZERO_FRACTION = new Expr.Repeat(Expr.seq(Expr.literal("."), new Expr.Repeat(Expr.literal("0"), 1, -1)), 0, 1);
    private static final Expr NONZERO_FRACTION = Expr.seq(Expr.literal("."), new Expr.Repeat(DIGIT, 0, -1), NONZERO, new Expr.Repeat(DIGIT, 0, -1));

    /**
     * Decimal numbers (no exponent) x with lo <= x <= hi (strict where the flags say), integer bounds, either
     * bound possibly null.
     */
    static Expr decimals(BigInteger lo, boolean loExcl, BigInteger hi, boolean hiExcl) {
        List<Expr> alts = new ArrayList<>();
        // magnitudes for x >= 0: [max(lo,0), hi]
        if (hi == null || hi.signum() >= 0) {
            BigInteger a = lo == null || lo.signum() < 0 ? BigInteger.ZERO : lo;
            boolean aExcl = lo != null && lo.signum() >= 0 && loExcl;
            Expr m = magnitudes(a, aExcl, hi, hiExcl);
            if (m != null) {
                alts.add(m);
            }
        }
        // x < 0: magnitude in (max(0,-hi), -lo]
        if (lo == null || lo.signum() < 0) {
            BigInteger a = hi == null || hi.signum() >= 0 ? BigInteger.ZERO : hi.negate();
            boolean aExcl = hi == null || hi.signum() >= 0 || hiExcl; // magnitude 0 is not negative
            Expr m = magnitudes(a, aExcl, lo == null ? null : lo.negate(), loExcl);
            if (m != null) {
                alts.add(Expr.seq(Expr.literal("-"), m));
            }
        }
        if (alts.isEmpty()) {
            return new Expr.Alt(List.of());
        }
        return alts.size() == 1 ? alts.getFirst() : new Expr.Alt(alts);
    }

    /** Non-negative decimals m with a <(=) m <(=) b; null when empty. */
    private static Expr magnitudes(BigInteger a, boolean aExcl, BigInteger b, boolean bExcl) {
        List<Expr> alts = new ArrayList<>();
        if (b != null && a.compareTo(b) > 0) {
            return null;
        }
        if (b != null && a.equals(b)) {
            return aExcl || bExcl ? null : Expr.seq(naturals(a, a), ZERO_FRACTION);
        }
        // integer part strictly inside: any fraction
        BigInteger innerLo = a.add(BigInteger.ONE);
        BigInteger innerHi = b == null ? null : b.subtract(BigInteger.ONE);
        if (innerHi == null || innerLo.compareTo(innerHi) <= 0) {
            alts.add(Expr.seq(naturals(innerLo, innerHi), ANY_FRACTION));
        }
        alts.add(Expr.seq(naturals(a, a), aExcl ? NONZERO_FRACTION : ANY_FRACTION));
        if (b != null && !bExcl) {
            alts.add(Expr.seq(naturals(b, b), ZERO_FRACTION));
        }
        return new Expr.Alt(alts);
    }
}
