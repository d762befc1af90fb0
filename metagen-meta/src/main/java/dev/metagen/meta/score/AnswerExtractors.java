package dev.metagen.meta.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answer extractors used for self-consistency (Wang et al., 2023): the last number, the last {@code \boxed{...}}
 * (Hendrycks et al., 2021, MATH), a regex group, a JSON field, or the whole trimmed text.
 */
public final class AnswerExtractors {
    private static final Pattern NUMBER = Pattern.compile("-?\\d[\\d,]*(?:\\.\\d+)?|-?\\.\\d+");
    private static final ObjectMapper JSON = new ObjectMapper();

    private AnswerExtractors() {
    }

    /**
     * The whole text, trimmed and with runs of whitespace collapsed.
     *
     * @return the extractor
     */
    public static AnswerExtractor text() {
        return t -> {
            String s = t.strip().replaceAll("\\s+", " ");
            return s.isEmpty() ? Optional.empty() : Optional.of(s);
        };
    }

    /**
     * The last number in the text, canonicalised ("1,000.50" and "1000.5" are the same answer).
     *
     * @return the extractor
     */
    public static AnswerExtractor lastNumber() {
        return t -> {
            Matcher m = NUMBER.matcher(t);
            String last = null;
            while (m.find()) {
                last = m.group();
            }
            return last == null ? Optional.empty() : Optional.of(canonicalNumber(last));
        };
    }

    static String canonicalNumber(String s) {
        try {
            BigDecimal d = new BigDecimal(s.replace(",", "")).stripTrailingZeros();
            return d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
        } catch (NumberFormatException e) {
            return s;
        }
    }

    /**
     * The content of the last {@code \boxed{...}}, with nested braces balanced.
     *
     * @return the extractor
     */
    public static AnswerExtractor boxed() {
        return t -> {
            int at = t.lastIndexOf("\\boxed{");
            if (at < 0) {
                return Optional.empty();
            }
            int depth = 0;
            int start = at + "\\boxed{".length();
            for (int i = start; i < t.length(); i++) {
                char c = t.charAt(i);
                if (c == '{') {
                    depth++;
                } else if (c == '}') {
                    if (depth == 0) {
                        return Optional.of(t.substring(start, i).strip());
                    }
                    depth--;
                }
            }
            return Optional.empty(); // unbalanced: no answer
        };
    }

    /**
     * Group {@code group} of the last match of {@code regex} (RE2 syntax, linear-time: see {@link UserRegex}).
     *
     * @param regex the expression
     * @param group the group number (0: the whole match)
     * @return the extractor
     */
    public static AnswerExtractor regex(String regex, int group) {
        com.google.re2j.Pattern p = UserRegex.compile(regex);
        if (p.groupCount() < group) {
            throw new dev.metagen.core.MetagenException("the pattern has fewer than " + group + " groups");
        }
        return t -> {
            com.google.re2j.Matcher m = p.matcher(t);
            String last = null;
            while (m.find()) {
                last = m.group(group);
            }
            return Optional.ofNullable(last).map(String::strip);
        };
    }

    /**
     * A field (a JSON pointer such as {@code /answer}) of the first JSON object in the text.
     *
     * @param pointer the JSON pointer
     * @return the extractor
     */
    public static AnswerExtractor jsonField(String pointer) {
        return t -> {
            int start = t.indexOf('{');
            if (start < 0) {
                return Optional.empty();
            }
            try {
                JsonNode node = JSON.readerFor(JsonNode.class).readValue(t.substring(start));
                JsonNode v = node.at(pointer);
                if (v.isMissingNode() || v.isNull()) {
                    return Optional.empty();
                }
                return Optional.of(v.isValueNode() ? v.asText() : v.toString());
            } catch (java.io.IOException e) {
                return Optional.empty();
            }
        };
    }
}
