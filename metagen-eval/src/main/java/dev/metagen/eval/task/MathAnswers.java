package dev.metagen.eval.task;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LaTeX answer equivalence for MATH (Hendrycks et al., 2021): two answers are equivalent when their normal forms
 * agree under either the MATH repository's {@code is_equiv} / {@code strip_string} normalisation or PRM800K's grader
 * normalisation (Lightman et al., 2023, {@code grader.py} {@code _normalize}: {@code \text{}} unwrapped, units and
 * degree signs dropped, braces and spaces removed), when both denote the same rational number (0.5, {@code \frac12},
 * {@code 1/2}, {@code \dfrac{1}{2}}), or when both are tuples / intervals of pairwise equivalent elements.
 */
public final class MathAnswers {
    private MathAnswers() {
    }

    /** The content of the last {@code \boxed{...}} or {@code \fbox{...}} in {@code text} (braces balanced). */
    public static Optional<String> lastBoxed(String text) {
        int i = Math.max(text.lastIndexOf("\\boxed"), text.lastIndexOf("\\fbox"));
        if (i < 0) {
            return Optional.empty();
        }
        int j = text.indexOf('{', i);
        String head = j < 0 ? "" : text.substring(i, j);
        if (j < 0 || !(head.equals("\\boxed") || head.equals("\\fbox") || head.isBlank())) {
            // "\boxed 5" (no braces): the token after the space, as in the MATH repository's last_boxed_only_string
            Matcher m = Pattern.compile("\\\\boxed ([^$\\s]+)").matcher(text.substring(i));
            return m.lookingAt() ? Optional.of(m.group(1)) : Optional.empty();
        }
        int depth = 0;
        for (int k = j; k < text.length(); k++) {
            char c = text.charAt(k);
            if (c == '{') {
                depth++;
            } else if (c == '}') {
                depth--;
                if (depth == 0) {
                    return Optional.of(text.substring(j + 1, k));
                }
            }
        }
        return Optional.empty();
    }

    /** The answer of a model's output: the last boxed expression, else after "answer is", else the last number. */
    public static Optional<String> extract(String output) {
        Optional<String> boxed = lastBoxed(output);
        if (boxed.isPresent()) {
            return boxed;
        }
        Matcher m = Pattern.compile("(?i)answer is:?\\s*\\$?([^$\\n]+?)\\$?\\s*(?:\\.\\s*)?$", Pattern.MULTILINE).matcher(output);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        if (last != null && !last.isBlank()) {
            return Optional.of(last.strip());
        }
        return Numbers.last(output);
    }

    public static boolean equivalent(String a, String b) {
        if (a == null || b == null) {
            return false;
        }
        String sa = stripString(unwrapText(a.strip()));
        String sb = stripString(unwrapText(b.strip()));
        if (sa.equals(sb)) {
            return true;
        }
        String pa = prmNormalize(a);
        String pb = prmNormalize(b);
        if (!pa.isEmpty() && pa.equals(pb)) {
            return true;
        }
        Optional<BigDecimal> va = value(sa);
        Optional<BigDecimal> vb = value(sb);
        if (va.isPresent() && vb.isPresent()) {
            return va.get().subtract(vb.get()).abs().compareTo(new BigDecimal("1e-9")) <= 0;
        }
        List<String> ta = tuple(sa);
        List<String> tb = tuple(sb);
        if (ta != null && tb != null && ta.size() == tb.size() && sa.charAt(0) == sb.charAt(0)
                && sa.charAt(sa.length() - 1) == sb.charAt(sb.length() - 1)) {
            for (int i = 0; i < ta.size(); i++) {
                if (!equivalent(ta.get(i), tb.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    private static String unwrapText(String s) {
        Matcher m = Pattern.compile("^\\\\text\\{(.+?)}$").matcher(s);
        return m.matches() ? m.group(1).strip() : s;
    }

    /** The MATH repository's {@code strip_string} (Hendrycks et al., 2021, {@code math_equivalence.py}). */
    public static String stripString(String s) {
        s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\");
        s = s.replace("tfrac", "frac").replace("dfrac", "frac");
        s = s.replace("\\left", "").replace("\\right", "");
        s = s.replace("^{\\circ}", "").replace("^\\circ", "");
        s = s.replace("\\$", "");
        int units = s.indexOf("\\text{ ");
        if (units >= 0) { // remove units on the right ("5\text{ cm}")
            s = s.substring(0, units);
        }
        s = s.replace("\\%", "").replace("%", "");
        s = s.replace(" .", " 0.").replace("{.", "{0.");
        if (s.isEmpty()) {
            return s;
        }
        if (s.charAt(0) == '.') {
            s = "0" + s;
        }
        String[] eq = s.split("=", -1);
        if (eq.length == 2 && eq[0].length() <= 2) { // "x = 5" -> "5"
            s = eq[1];
        }
        s = fixSqrt(s);
        s = s.replace(" ", "");
        s = fixFracs(s);
        if (s.equals("0.5")) {
            s = "\\frac{1}{2}";
        }
        return fixSlash(s);
    }

    private static String fixSqrt(String s) {
        // \sqrt3 -> \sqrt{3}
        return s.replaceAll("\\\\sqrt(\\w)", "\\\\sqrt{$1}");
    }

    /** {@code \frac12} -> {@code \frac{1}{2}}, {@code \frac1b} -> {@code \frac{1}{b}}, as the MATH repository's {@code _fix_fracs}. */
    private static String fixFracs(String s) {
        String[] subs = s.split("\\\\frac", -1);
        StringBuilder out = new StringBuilder(subs[0]);
        for (int i = 1; i < subs.length; i++) {
            String sub = subs[i];
            out.append("\\frac");
            if (!sub.isEmpty() && sub.charAt(0) == '{') {
                out.append(sub);
                continue;
            }
            if (sub.length() < 2) {
                return s;
            }
            char a = sub.charAt(0);
            char b = sub.charAt(1);
            if (b != '{') {
                out.append('{').append(a).append("}{").append(b).append('}').append(sub.substring(2));
            } else {
                out.append('{').append(a).append('}').append(sub.substring(1));
            }
        }
        return out.toString();
    }

    private static String fixSlash(String s) {
        Matcher m = Pattern.compile("^(-?\\d+)/(\\d+)$").matcher(s);
        return m.matches() ? "\\frac{" + m.group(1) + "}{" + m.group(2) + "}" : s;
    }

    private static final String[] UNITS = {"degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour",
            "day", "week", "month", "year", "foot", "feet", "inch", "yard"};

    /** PRM800K's grader normalisation ({@code grader.py} {@code _normalize}), without its sympy parsing step. */
    public static String prmNormalize(String expr) {
        String e = unwrapText(expr.strip());
        e = e.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "");
        e = e.replace(" or ", " , ").replace(" and ", " , ");
        e = e.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12");
        e = e.replaceAll("\\\\text\\{\\s*([^}]*)}", "$1"); // unit words inside \text{} are dropped below
        e = e.replaceAll("\\\\mbox\\{\\s*([^}]*)}", "$1");
        for (String unit : UNITS) {
            e = e.replaceAll(unit + "(es)?(s)? *(\\^[0-9]+)?", "");
        }
        e = e.replaceAll("\\^ *\\\\circ", "").replaceAll("\\^ *\\{\\\\circ}", "");
        if (e.length() > 1 && e.charAt(0) == '{' && e.charAt(e.length() - 1) == '}') {
            e = e.substring(1, e.length() - 1);
        }
        e = e.replaceAll(",\\\\! *", "");
        e = e.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "").replace("\\ ", "");
        e = e.replace("dfrac", "frac").replace("tfrac", "frac");
        Optional<BigDecimal> v = Numbers.parse(e);
        if (v.isPresent() && v.get().stripTrailingZeros().scale() <= 0) {
            e = v.get().toBigInteger().toString();
        }
        e = e.replaceAll("- *", "-");
        e = e.replace(" ", "").replace("{", "").replace("}", "").toLowerCase(Locale.ROOT);
        return e.strip();
    }

    /** The rational value of a plain number, {@code \frac{a}{b}}, {@code -\frac{a}{b}}, {@code a/b} or a mixed number. */
    static Optional<BigDecimal> value(String s) {
        String t = s.replace("{,}", "").replace("\\%", "").replace("%", "");
        Optional<BigDecimal> n = Numbers.parse(t);
        if (n.isPresent()) {
            return n;
        }
        Matcher m = Pattern.compile("^(-?)\\\\frac\\{(-?\\d+(?:\\.\\d+)?)}\\{(-?\\d+(?:\\.\\d+)?)}$").matcher(t);
        if (!m.matches()) {
            m = Pattern.compile("^(-?)\\(?(-?\\d+(?:\\.\\d+)?)\\)?/\\(?(-?\\d+(?:\\.\\d+)?)\\)?$").matcher(t);
        }
        if (m.matches()) {
            BigDecimal den = new BigDecimal(m.group(3));
            if (den.signum() == 0) {
                return Optional.empty();
            }
            BigDecimal v = new BigDecimal(m.group(2)).divide(den, MathContext.DECIMAL64);
            return Optional.of(m.group(1).isEmpty() ? v : v.negate());
        }
        Matcher mixed = Pattern.compile("^(-?)(\\d+)\\\\frac\\{(\\d+)}\\{(\\d+)}$").matcher(t);
        if (mixed.matches() && !mixed.group(4).equals("0")) { // 7\frac{1}{2} = 7.5
            BigDecimal v = new BigDecimal(new BigInteger(mixed.group(2))).add(new BigDecimal(mixed.group(3))
                    .divide(new BigDecimal(mixed.group(4)), MathContext.DECIMAL64));
            return Optional.of(mixed.group(1).isEmpty() ? v : v.negate());
        }
        return Optional.empty();
    }

    /** The top-level comma-separated elements of {@code (a,b)} / {@code [a,b)} ..., or null when not a bracketed list. */
    static List<String> tuple(String s) {
        if (s.length() < 3 || "([".indexOf(s.charAt(0)) < 0 || ")]".indexOf(s.charAt(s.length() - 1)) < 0) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 1;
        for (int i = 1; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start, s.length() - 1));
        return parts.size() < 2 ? null : parts;
    }
}
