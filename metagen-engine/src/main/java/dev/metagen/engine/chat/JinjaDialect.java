package dev.metagen.engine.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the few Jinja2 expression forms that Jinjava's parser reads differently into equivalent forms it reads as
 * Jinja2 does, inside {@code {{ }}} and {@code {% %}} only (text and comments are left alone):
 * <ul>
 *   <li>{@code not x is defined} means {@code not (x is defined)} in Jinja2; Jinjava applies {@code not} first.</li>
 *   <li>{@code f(a=x - 1)}: Jinjava binds {@code a=x} before {@code - 1}; the value is parenthesised.</li>
 *   <li>{@code xs[:n+1]}: Jinjava's slice syntax takes no operators in its bounds; they are parenthesised.</li>
 * </ul>
 */
final class JinjaDialect {
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]\\[]*\\])*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*)");

    private JinjaDialect() {
    }

    static String normalize(String source) {
        StringBuilder out = new StringBuilder(source.length() + 64);
        int i = 0;
        while (i < source.length()) {
            int open = nextOpener(source, i);
            if (open < 0) {
                out.append(source, i, source.length());
                break;
            }
            out.append(source, i, open);
            char kind = source.charAt(open + 1);
            if (kind == '#') {
                int end = source.indexOf("#}", open + 2);
                end = end < 0 ? source.length() : end + 2;
                out.append(source, open, end);
                i = end;
                continue;
            }
            String closer = kind == '{' ? "}}" : "%}";
            int end = closingOf(source, open + 2, closer);
            if (end < 0) {
                out.append(source, open, source.length());
                break;
            }
            String body = source.substring(open + 2, end);
            String trimmed = body.strip().replaceFirst("^-", "").strip();
            boolean signature = kind == '%' && (trimmed.startsWith("macro ") || trimmed.startsWith("call"));
            out.append(source, open, open + 2).append(signature ? body : rewrite(body)).append(closer);
            i = end + 2;
        }
        return out.toString();
    }

    private static int nextOpener(String s, int from) {
        int i = s.indexOf('{', from);
        while (i >= 0 && i + 1 < s.length()) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i = s.indexOf('{', i + 1);
        }
        return -1;
    }

    /** The index of {@code closer} ending the block that starts at {@code from}, skipping string literals. */
    private static int closingOf(String s, int from, String closer) {
        char quote = 0;
        for (int i = from; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (s.startsWith(closer, i)) {
                return i;
            }
        }
        return -1;
    }

    static String rewrite(String expr) {
        String e = rewriteNotIs(expr);
        return rewriteBrackets(e);
    }

    private static String rewriteNotIs(String expr) {
        // only outside string literals
        List<int[]> strings = stringSpans(expr);
        Matcher m = NOT_IS.matcher(expr);
        StringBuilder sb = new StringBuilder();
        int last = 0;
        while (m.find()) {
            if (inside(strings, m.start())) {
                continue;
            }
            sb.append(expr, last, m.start()).append("not (").append(m.group(1)).append(" is ")
                    .append(m.group(2) == null ? "" : "not ").append(m.group(3)).append(')');
            last = m.end();
        }
        sb.append(expr.substring(last));
        return sb.toString();
    }

    /** Parenthesises keyword-argument values in calls and operator expressions in slice bounds. */
    private static String rewriteBrackets(String e) {
        StringBuilder out = new StringBuilder(e.length() + 16);
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int end = stringEnd(e, i);
                out.append(e, i, end);
                i = end;
            } else if ((c == '(' || c == '[') && followsValue(e, i)) {
                int close = matching(e, i);
                if (close < 0) {
                    out.append(e.substring(i));
                    break;
                }
                String inner = rewriteBrackets(e.substring(i + 1, close));
                out.append(c).append(c == '(' ? keywordArguments(inner) : sliceBounds(inner)).append(e.charAt(close));
                i = close + 1;
            } else if (c == '(' || c == '[' || c == '{') {
                int close = matching(e, i);
                if (close < 0) {
                    out.append(e.substring(i));
                    break;
                }
                out.append(c).append(rewriteBrackets(e.substring(i + 1, close))).append(e.charAt(close));
                i = close + 1;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** Whether the bracket at {@code i} is a call or subscript (after a name, a call or a subscript). */
    private static boolean followsValue(String e, int i) {
        int j = i - 1;
        if (j < 0) {
            return false;
        }
        char p = e.charAt(j);
        if (Character.isWhitespace(p)) {
            return false;
        }
        if (p == ')' || p == ']') {
            return true;
        }
        if (!(Character.isLetterOrDigit(p) || p == '_')) {
            return false;
        }
        int k = j;
        while (k >= 0 && (Character.isLetterOrDigit(e.charAt(k)) || e.charAt(k) == '_')) {
            k--;
        }
        String word = e.substring(k + 1, j + 1);
        // "x in (a, b)", "not (a)" are not calls
        return !List.of("in", "not", "and", "or", "is", "if", "else").contains(word);
    }

    private static final Pattern KEYWORD = Pattern.compile("^\\s*([A-Za-z_]\\w*)\\s*=(?!=)(.*)$", Pattern.DOTALL);

    private static String keywordArguments(String args) {
        List<String> parts = splitTopLevel(args, ',');
        List<String> out = new ArrayList<>(parts.size());
        for (String p : parts) {
            Matcher m = KEYWORD.matcher(p);
            if (m.matches() && !isSimple(m.group(2))) {
                out.add(m.group(1) + "=(" + m.group(2).strip() + ")");
            } else {
                out.add(p);
            }
        }
        return String.join(",", out);
    }

    private static String sliceBounds(String inner) {
        List<String> parts = splitTopLevel(inner, ':');
        if (parts.size() < 2) {
            return inner;
        }
        List<String> out = new ArrayList<>(parts.size());
        for (String p : parts) {
            out.add(p.isBlank() || isSimple(p) ? p : "(" + p.strip() + ")");
        }
        return String.join(":", out);
    }

    /** A literal, a name or a dotted name: nothing to parenthesise. */
    private static boolean isSimple(String v) {
        String s = v.strip();
        return s.matches("-?\\d+(\\.\\d+)?|[A-Za-z_][\\w.]*|'[^']*'|\"[^\"]*\"");
    }

    private static List<String> splitTopLevel(String s, char sep) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i) - 1;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == sep && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
    }

    private static int matching(String e, int open) {
        int depth = 0;
        for (int i = open; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(e, i) - 1;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
                if (depth == 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    /** The index just after the string literal starting at {@code start}. */
    private static int stringEnd(String s, int start) {
        char q = s.charAt(start);
        for (int i = start + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i + 1;
            }
        }
        return s.length();
    }

    private static List<int[]> stringSpans(String s) {
        List<int[]> spans = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                int end = stringEnd(s, i);
                spans.add(new int[] {i, end});
                i = end - 1;
            }
        }
        return spans;
    }

    private static boolean inside(List<int[]> spans, int pos) {
        for (int[] sp : spans) {
            if (pos >= sp[0] && pos < sp[1]) {
                return true;
            }
        }
        return false;
    }
}
