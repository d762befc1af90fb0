package dev.metagen.eval.task;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Number extraction and comparison shared by the math tasks ("1,234.50" equals "1234.5"; "$18" equals "18"). */
public final class Numbers {
    private static final Pattern NUMBER = Pattern.compile("-?\\d[\\d,]*(?:\\.\\d+)?|-?\\.\\d+");

    private Numbers() {
    }

    /** The first number in {@code text}, thousands separators removed. */
    public static Optional<String> first(String text) {
        Matcher m = NUMBER.matcher(text);
        return m.find() ? Optional.of(canonical(m.group().replace(",", ""))) : Optional.empty();
    }

    /** The last number in {@code text}, thousands separators removed. */
    public static Optional<String> last(String text) {
        Matcher m = NUMBER.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        if (last == null) {
            return Optional.empty();
        }
        return Optional.of(canonical(last.replace(",", "")));
    }

    /** The number {@code s} denotes, or empty when it is not a plain decimal number (commas, "$" and "%" allowed). */
    public static Optional<BigDecimal> parse(String s) {
        String t = s.strip().replace(",", "").replace("$", "");
        if (t.endsWith("%")) {
            t = t.substring(0, t.length() - 1);
        }
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1);
        }
        if (!t.matches("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)")) {
            return Optional.empty();
        }
        return Optional.of(new BigDecimal(t));
    }

    /** Equal as numbers (to 1e-9 relative), else equal as trimmed strings. */
    public static boolean same(String a, String b) {
        Optional<BigDecimal> x = parse(a);
        Optional<BigDecimal> y = parse(b);
        if (x.isPresent() && y.isPresent()) {
            BigDecimal d = x.get().subtract(y.get()).abs();
            BigDecimal scale = x.get().abs().max(y.get().abs()).max(BigDecimal.ONE);
            return d.compareTo(scale.multiply(new BigDecimal("1e-9"))) <= 0;
        }
        return a.strip().equals(b.strip());
    }

    static String canonical(String n) {
        Optional<BigDecimal> v = parse(n);
        if (v.isEmpty()) {
            return n;
        }
        BigDecimal d = v.get().stripTrailingZeros();
        return d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
    }
}
