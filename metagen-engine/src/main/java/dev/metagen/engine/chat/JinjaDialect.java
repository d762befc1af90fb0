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
 *   <li>{@code not x|length == 1} means {@code not (x|length == 1)}; Jinjava applies {@code not} first.</li>
 *   <li>{@code n+1}: Jinjava reads {@code +1} as a signed literal; the operator is spaced.</li>
 *   <li>{@code strftime_now is defined}: Jinjava's functions are not variables; the test is {@code true}.</li>
 *   <li>{@code {% for x in xs if c %}}: Jinjava has no loop filter; it becomes an {@code if} in the body.</li>
 *   <li>{@code loop.previtem}, {@code loop.nextitem}: Jinjava lacks them; they are indexed from the iterable.</li>
 *   <li>{@code f(a=x - 1)}: Jinjava binds {@code a=x} before {@code - 1}; the value is parenthesised.</li>
 *   <li>{@code xs[a:b:c]}: Jinjava's slices take no step and no operators in their bounds; slices become the
 *   {@link SliceFilter} with Python's semantics ({@code xs|metagen_slice(a, b, c)}).</li>
 * </ul>
 */
final class JinjaDialect {
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]\\[]*\\])*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*)");

    private JinjaDialect() {
    }

    private static final Pattern FOR_IF = Pattern.compile(
            "^(\\s*-?\\s*for\\s+[\\w\\s,]+\\s+in\\s+)(.+?)\\s+if\\s+(.+?)(\\s*-?\\s*)$", Pattern.DOTALL);

    /**
     * {@code {% for x in xs if cond %}}: Jinjava has no loop filter. The filter becomes an {@code if} around the
     * body, so {@code loop.index} and {@code loop.last} count the skipped items too (templates that filter loops
     * use neither inside them).
     */
    private static String rewriteLoopFilters(String source) {
        StringBuilder out = new StringBuilder(source.length() + 64);
        java.util.Deque<Boolean> filtered = new java.util.ArrayDeque<>();
        java.util.Deque<String> iterables = new java.util.ArrayDeque<>();
        int i = 0;
        while (i < source.length()) {
            int open = nextOpener(source, i);
            if (open < 0) {
                out.append(source.substring(i));
                break;
            }
            char kind = source.charAt(open + 1);
            int end = kind == '#' ? source.indexOf("#}", open + 2)
                    : closingOf(source, open + 2, kind == '{' ? "}}" : "%}");
            if (end < 0) {
                out.append(source.substring(i));
                break;
            }
            out.append(source, i, open);
            String body = source.substring(open + 2, end);
            String closer = source.substring(end, end + 2);
            if (kind == '#') {
                out.append(source, open, end + 2);
                i = end + 2;
                continue;
            }
            String word = body.strip().replaceFirst("^-", "").strip();
            if (kind == '%' && word.startsWith("endfor")) {
                if (!filtered.isEmpty() && filtered.pop()) {
                    out.append("{%").append(body.startsWith("-") ? "-" : "").append(" endif %}");
                }
                if (!iterables.isEmpty()) {
                    iterables.pop();
                }
                out.append("{%").append(body).append(closer);
                i = end + 2;
                continue;
            }
            // loop.previtem / loop.nextitem refer to the innermost enclosing loop, not to one this tag opens
            String b = iterables.isEmpty() ? body : loopNeighbours(body, iterables.peek());
            Matcher m = FOR_IF.matcher(b);
            if (kind == '%' && word.startsWith("for ") && m.matches() && !inside(stringSpans(b), m.start(3))) {
                out.append("{%").append(m.group(1)).append(m.group(2)).append(m.group(4)).append("%}")
                        .append("{%").append(" if ").append(m.group(3)).append(m.group(4)).append("%}");
                filtered.push(true);
                iterables.push(m.group(2).strip());
            } else if (kind == '%' && word.startsWith("for ")) {
                out.append("{%").append(b).append(closer);
                filtered.push(false);
                Matcher in = FOR_IN.matcher(b);
                iterables.push(in.matches() ? in.group(1).strip() : "none");
            } else {
                out.append(kind == '{' ? "{{" : "{%").append(b).append(closer);
            }
            i = end + 2;
        }
        return out.toString();
    }

    private static final Pattern FOR_IN = Pattern.compile(
            "^\\s*-?\\s*for\\s+[\\w\\s,]+\\s+in\\s+(.+?)(?:\\s+recursive)?\\s*-?\\s*$", Pattern.DOTALL);
    private static final Pattern LOOP_NEIGHBOUR = Pattern.compile("\\bloop\\.(previtem|nextitem)\\b");

    /** Jinjava's loop object has no previtem/nextitem: they are read from the loop's iterable by index. */
    private static String loopNeighbours(String body, String iterable) {
        Matcher m = LOOP_NEIGHBOUR.matcher(body);
        if (!m.find()) {
            return body;
        }
        return neighbourReplace(body, iterable);
    }

    private static String neighbourReplace(String body, String iterable) {
        List<int[]> strings = stringSpans(body);
        Matcher m = LOOP_NEIGHBOUR.matcher(body);
        StringBuilder sb = new StringBuilder();
        int last = 0;
        while (m.find()) {
            if (inside(strings, m.start())) {
                continue;
            }
            sb.append(body, last, m.start());
            sb.append(m.group(1).equals("previtem")
                    ? "((" + iterable + ")[loop.index0 - 1] if loop.index0 > 0 else none)"
                    : "((" + iterable + ")[loop.index0 + 1] if not loop.last else none)");
            last = m.end();
        }
        sb.append(body.substring(last));
        return sb.toString();
    }

    static String normalize(String source) {
        return normalizeExpressions(rewriteLoopFilters(source));
    }

    private static String normalizeExpressions(String source) {
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

    private static final Pattern FILTER_USE = Pattern.compile("\\|\\s*([A-Za-z_]\\w*)");
    private static final Pattern TEST_USE = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_]\\w*)");

    /** The filter names used in {@code |name} and test names used in {@code is name}, in expression blocks. */
    static java.util.Set<String> used(String source, boolean filters) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        int i = 0;
        while (i < source.length()) {
            int open = nextOpener(source, i);
            if (open < 0) {
                break;
            }
            char kind = source.charAt(open + 1);
            int end = kind == '#' ? source.indexOf("#}", open + 2) : closingOf(source, open + 2,
                    kind == '{' ? "}}" : "%}");
            if (end < 0) {
                break;
            }
            if (kind != '#') {
                String body = source.substring(open + 2, end);
                List<int[]> strings = stringSpans(body);
                Matcher m = (filters ? FILTER_USE : TEST_USE).matcher(body);
                while (m.find()) {
                    if (!inside(strings, m.start())) {
                        names.add(m.group(1));
                    }
                }
            }
            i = end + 2;
        }
        return names;
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
        String e = splitDelimitersInStrings(expr);
        e = replaceOutsideStrings(e, SIGNED_NUMBER, "$1 $2 $3");
        e = replaceOutsideStrings(e, GLOBAL_DEFINED, "true");
        e = rewriteNotIs(e);
        e = rewriteNotCompare(e);
        return rewriteBrackets(e);
    }

    /**
     * A string literal holding {@code }}}, {@code {{}, {@code %}} or {@code {%}: Jinjava's tokenizer ends or opens
     * a block there even inside quotes; the literal is split into a concatenation between the two characters.
     */
    private static String splitDelimitersInStrings(String e) {
        StringBuilder out = new StringBuilder(e.length());
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c != '\'' && c != '"') {
                out.append(c);
                i++;
                continue;
            }
            int end = stringEnd(e, i);
            String lit = e.substring(i, end);
            String inner = lit.length() >= 2 ? lit.substring(1, lit.length() - 1) : "";
            if (inner.contains("}}") || inner.contains("{{") || inner.contains("%}") || inner.contains("{%")) {
                StringBuilder parts = new StringBuilder("(").append(c);
                for (int k = 0; k < inner.length(); k++) {
                    char x = inner.charAt(k);
                    parts.append(x);
                    if (k + 1 < inner.length()) {
                        String pair = inner.substring(k, k + 2);
                        if (pair.equals("}}") || pair.equals("{{") || pair.equals("%}") || pair.equals("{%")) {
                            parts.append(c).append(" ~ ").append(c);
                        }
                    }
                }
                out.append(parts).append(c).append(')');
            } else {
                out.append(lit);
            }
            i = end;
        }
        return out.toString();
    }

    /** {@code n+1}: Jinjava's scanner reads {@code +1} as a signed literal after a name; spaced it is a sum. */
    private static final Pattern SIGNED_NUMBER = Pattern.compile("((?<!\\d)[A-Za-z_]\\w*|[)\\]])([+-])(\\d)");
    /** The helpers are functions, not variables, in Jinjava; templates test them with {@code is defined}. */
    private static final Pattern GLOBAL_DEFINED = Pattern.compile(
            "\\b(?:strftime_now|raise_exception)\\s+is\\s+defined\\b");

    private static String replaceOutsideStrings(String expr, Pattern p, String replacement) {
        List<int[]> strings = stringSpans(expr);
        Matcher m = p.matcher(expr);
        StringBuilder sb = new StringBuilder();
        int last = 0;
        while (m.find()) {
            if (inside(strings, m.start())) {
                continue;
            }
            sb.append(expr, last, m.start());
            StringBuilder r = new StringBuilder();
            m.appendReplacement(r, replacement);
            // appendReplacement also copied the text before the match: keep only the replacement
            sb.append(r, m.start() - last, r.length());
            last = m.end();
        }
        sb.append(expr.substring(last));
        return sb.toString();
    }

    private static final Pattern NOT_COMPARE = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]\\[]*\\])*(?:\\s*\\|\\s*[A-Za-z_]\\w*)*)\\s*(==|!=|<=|>=|<|>)\\s*(-?\\d+|[A-Za-z_][\\w.]*|'[^']*'|\"[^\"]*\")");

    /** {@code not x|length == 1} compares first in Jinja2 ({@code not} binds loosest); Jinjava negates {@code x} first. */
    private static String rewriteNotCompare(String expr) {
        List<int[]> strings = stringSpans(expr);
        Matcher m = NOT_COMPARE.matcher(expr);
        StringBuilder sb = new StringBuilder();
        int last = 0;
        while (m.find()) {
            if (inside(strings, m.start())) {
                continue;
            }
            sb.append(expr, last, m.start()).append("not (").append(m.group(1)).append(' ').append(m.group(2))
                    .append(' ').append(m.group(3)).append(')');
            last = m.end();
        }
        sb.append(expr.substring(last));
        return sb.toString();
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
                List<String> slice = c == '[' ? splitTopLevel(inner, ':') : List.of();
                if (slice.size() >= 2) {
                    out.append('|').append(SliceFilter.NAME).append('(').append(sliceArguments(slice)).append(')');
                } else {
                    out.append(c).append(c == '(' ? keywordArguments(inner) : inner).append(e.charAt(close));
                }
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

    /** {@code a:b:c} as filter arguments, {@code none} for an omitted bound. */
    private static String sliceArguments(List<String> parts) {
        List<String> out = new ArrayList<>(3);
        for (String p : parts) {
            out.add(p.isBlank() ? "none" : p.strip());
        }
        return String.join(", ", out);
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
