package dev.metagen.control.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits code point ranges into UTF-8 byte-range sequences (the construction used by RE2 and Rust's
 * regex-syntax {@code Utf8Sequences}), so a character class becomes an alternation of byte-level terminals.
 */
public final class Utf8Ranges {
    /** The largest Unicode code point. */
    public static final int MAX_CODE_POINT = 0x10FFFF;

    private Utf8Ranges() {}

    /**
     * Sorted, merged inclusive ranges; {@code negated} complements them over all Unicode scalar values.
     *
     * @param ranges inclusive ranges as pairs {@code lo, hi}
     * @param negated whether to complement them
     * @return the normalized ranges
     */
    public static int[] normalize(int[] ranges, boolean negated) {
        int n = ranges.length / 2;
        int[][] pairs = new int[n][];
        for (int i = 0; i < n; i++) {
            int lo = Math.min(ranges[2 * i], ranges[2 * i + 1]);
            int hi = Math.max(ranges[2 * i], ranges[2 * i + 1]);
            pairs[i] = new int[] {lo, hi};
        }
        Arrays.sort(pairs, (a, b) -> Integer.compare(a[0], b[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] p : pairs) {
            if (!merged.isEmpty() && p[0] <= merged.getLast()[1] + 1) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], p[1]);
            } else {
                merged.add(p.clone());
            }
        }
        if (negated) {
            List<int[]> comp = new ArrayList<>();
            int next = 0;
            for (int[] p : merged) {
                if (p[0] > next) {
                    comp.add(new int[] {next, p[0] - 1});
                }
                next = p[1] + 1;
            }
            if (next <= MAX_CODE_POINT) {
                comp.add(new int[] {next, MAX_CODE_POINT});
            }
            merged = comp;
        }
        int[] out = new int[merged.size() * 2];
        for (int i = 0; i < merged.size(); i++) {
            out[2 * i] = merged.get(i)[0];
            out[2 * i + 1] = Math.min(MAX_CODE_POINT, merged.get(i)[1]);
        }
        return out;
    }

    /**
     * The byte-range sequences matching exactly the UTF-8 encodings of the code points in the normalized
     * {@code ranges} (surrogates excluded). Each sequence is {@code [lo0, hi0, lo1, hi1, ...]}.
     *
     * @param ranges normalized ranges
     * @return the byte-range sequences
     */
    public static List<int[]> sequences(int[] ranges) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < ranges.length; i += 2) {
            int lo = ranges[i];
            int hi = ranges[i + 1];
            // surrogates have no UTF-8 encoding
            if (lo <= 0xDFFF && hi >= 0xD800) {
                if (lo < 0xD800) {
                    split(lo, 0xD7FF, out);
                }
                if (hi > 0xDFFF) {
                    split(0xE000, hi, out);
                }
            } else {
                split(lo, hi, out);
            }
        }
        return out;
    }

    private static final int[] LENGTH_LIMITS = {0x7F, 0x7FF, 0xFFFF, MAX_CODE_POINT};

    private static void split(int lo, int hi, List<int[]> out) {
        if (lo > hi) {
            return;
        }
        // first split where the encoded length changes
        for (int limit : LENGTH_LIMITS) {
            if (lo <= limit && hi > limit) {
                split(lo, limit, out);
                split(limit + 1, hi, out);
                return;
            }
        }
        int len = encode(lo).length;
        // then split until every continuation byte spans its full range or a single value
        for (int i = 1; i < len; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo);
        byte[] b = encode(hi);
        int[] seq = new int[2 * len];
        for (int i = 0; i < len; i++) {
            seq[2 * i] = a[i] & 0xFF;
            seq[2 * i + 1] = b[i] & 0xFF;
        }
        out.add(seq);
    }

    static byte[] encode(int cp) {
        return new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
