package dev.metagen.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.MetagenException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The normalizers, pre-tokenizers, post-processors and decoders of a Hugging Face {@code tokenizer.json}, built from
 * their JSON and behaving as the {@code tokenizers} library's components of the same name.
 */
final class HfComponents {
    private HfComponents() {}

    /** GPT-2's pre-tokenizer regex, which {@code ByteLevel} with {@code use_regex} applies. */
    static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    // ---------------------------------------------------------------- normalizers

    /** Rewrites text before it is split. */
    interface Normalizer {
        String normalize(String s);
    }

    static Normalizer normalizer(String src, JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        String type = type(src, "normalizer", n);
        return switch (type) {
            case "Sequence" -> {
                List<Normalizer> parts = new ArrayList<>();
                for (JsonNode c : n.path("normalizers")) {
                    Normalizer p = normalizer(src, c);
                    if (p != null) {
                        parts.add(p);
                    }
                }
                yield s -> {
                    for (Normalizer p : parts) {
                        s = p.normalize(s);
                    }
                    return s;
                };
            }
            case "NFC" -> s -> java.text.Normalizer.normalize(s, Form.NFC);
            case "NFD" -> s -> java.text.Normalizer.normalize(s, Form.NFD);
            case "NFKC" -> s -> java.text.Normalizer.normalize(s, Form.NFKC);
            case "NFKD" -> s -> java.text.Normalizer.normalize(s, Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(Locale.ROOT);
            case "Prepend" -> {
                String p = n.path("prepend").asText("");
                yield s -> s.isEmpty() ? s : p + s;
            }
            case "Replace" -> {
                Replacer r = replacer(src, "normalizer Replace", n);
                yield r::apply;
            }
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(true);
                boolean right = n.path("strip_right").asBoolean(true);
                yield s -> strip(s, left, right);
            }
            case "StripAccents" -> s -> {
                StringBuilder b = new StringBuilder(s.length());
                s.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK
                        && Character.getType(cp) != Character.ENCLOSING_MARK
                        && Character.getType(cp) != Character.COMBINING_SPACING_MARK).forEach(b::appendCodePoint);
                return b.toString();
            };
            default -> throw unsupported(src, "normalizer", type,
                    "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, StripAccents");
        };
    }

    static String strip(String s, boolean left, boolean right) {
        int a = 0;
        int b = s.length();
        while (left && a < b && isWhitespace(s.codePointAt(a))) {
            a += Character.charCount(s.codePointAt(a));
        }
        while (right && b > a && isWhitespace(s.codePointBefore(b))) {
            b -= Character.charCount(s.codePointBefore(b));
        }
        return s.substring(a, b);
    }

    /** Rust's {@code char::is_whitespace}: the Unicode White_Space property. */
    static boolean isWhitespace(int cp) {
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    /** A {@code Replace} pattern: a literal string or a regex, replaced everywhere by {@code content}. */
    record Replacer(String literal, Pattern regex, String content) {
        String apply(String s) {
            if (literal != null) {
                return literal.isEmpty() ? s : s.replace(literal, content);
            }
            return regex.matcher(s).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    private static Replacer replacer(String src, String what, JsonNode n) {
        JsonNode p = n.path("pattern");
        String content = n.path("content").asText("");
        if (p.has("String")) {
            return new Replacer(p.get("String").asText(), null, content);
        }
        if (p.has("Regex")) {
            return new Replacer(null, regex(src, what, p.get("Regex").asText()), content);
        }
        throw new MetagenException(src + ": " + what + " has no pattern.String or pattern.Regex");
    }

    /**
     * Compiles an Oniguruma regex (what the tokenizers library uses) for java.util.regex with Oniguruma's Unicode
     * meanings: {@code \s} is White_Space, {@code \d} is Nd, {@code \w} is Unicode word characters, case folding is
     * Unicode, {@code ^}/{@code $} are line anchors and {@code .} excludes only {@code \n}.
     */
    private static final Pattern HEX_ESCAPE = Pattern.compile("(?<!\\\\)((?:\\\\\\\\)*)\\\\h");

    static Pattern regex(String src, String what, String rx) {
        try {
            // Oniguruma's \h is a hex digit (java.util.regex's is horizontal space)
            String java = HEX_ESCAPE.matcher(rx).replaceAll("$1[0-9A-Fa-f]");
            return Pattern.compile(java, Pattern.UNICODE_CHARACTER_CLASS
                    | Pattern.UNICODE_CASE | Pattern.MULTILINE | Pattern.UNIX_LINES);
        } catch (PatternSyntaxException e) {
            throw new MetagenException(src + ": " + what + " regex does not compile on the JVM: " + rx + " ("
                    + e.getDescription() + ")");
        }
    }

    // ---------------------------------------------------------------- pre-tokenizers

    /** Splits each piece of text into finer pieces. */
    interface Splitter {
        /**
         * @param first whether {@code piece} begins the input (Metaspace's {@code prepend_scheme: first})
         */
        void split(String piece, boolean first, List<String> out);
    }

    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    static Splitter preTokenizer(String src, JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        String type = type(src, "pre_tokenizer", n);
        return switch (type) {
            case "Sequence" -> {
                List<Splitter> parts = new ArrayList<>();
                for (JsonNode c : n.path("pretokenizers")) {
                    Splitter p = preTokenizer(src, c);
                    if (p != null) {
                        parts.add(p);
                    }
                }
                yield (piece, first, out) -> {
                    List<String> current = List.of(piece);
                    for (Splitter p : parts) {
                        List<String> next = new ArrayList<>();
                        for (int i = 0; i < current.size(); i++) {
                            p.split(current.get(i), first && i == 0, next);
                        }
                        current = next;
                    }
                    out.addAll(current);
                };
            }
            case "ByteLevel" -> {
                boolean prefixSpace = n.path("add_prefix_space").asBoolean(true);
                boolean useRegex = n.path("use_regex").asBoolean(true);
                Pattern gpt2 = useRegex ? regex(src, "ByteLevel", GPT2_REGEX) : null;
                yield (piece, first, out) -> {
                    String s = prefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
                    if (gpt2 == null) {
                        out.add(byteLevel(s));
                        return;
                    }
                    List<String> words = new ArrayList<>();
                    split(gpt2, false, Behavior.ISOLATED, s, words);
                    for (String w : words) {
                        out.add(byteLevel(w));
                    }
                };
            }
            case "Split" -> {
                JsonNode p = n.path("pattern");
                Pattern pattern;
                if (p.has("String")) {
                    pattern = Pattern.compile(Pattern.quote(p.get("String").asText()));
                } else if (p.has("Regex")) {
                    pattern = regex(src, "pre_tokenizer Split", p.get("Regex").asText());
                } else {
                    throw new MetagenException(src + ": pre_tokenizer Split has no pattern.String or pattern.Regex");
                }
                Behavior behavior = behavior(src, n.path("behavior").asText("Isolated"));
                boolean invert = n.path("invert").asBoolean(false);
                yield (piece, first, out) -> split(pattern, invert, behavior, piece, out);
            }
            case "Metaspace" -> {
                String replacement = n.path("replacement").asText("\u2581");
                String scheme = n.has("prepend_scheme") ? n.get("prepend_scheme").asText("always")
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                boolean split = n.path("split").asBoolean(true);
                Pattern mark = Pattern.compile(Pattern.quote(replacement));
                yield (piece, first, out) -> {
                    String s = piece.replace(" ", replacement);
                    if (!s.startsWith(replacement) && (scheme.equals("always") || scheme.equals("first") && first)) {
                        s = replacement + s;
                    }
                    if (split) {
                        split(mark, false, Behavior.MERGED_WITH_NEXT, s, out);
                    } else {
                        out.add(s);
                    }
                };
            }
            case "Digits" -> {
                boolean individual = n.path("individual_digits").asBoolean(false);
                Pattern digit = Pattern.compile("[\\p{Nd}\\p{Nl}\\p{No}]");
                Behavior b = individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS;
                yield (piece, first, out) -> split(digit, false, b, piece, out);
            }
            case "Punctuation" -> {
                Pattern punct = Pattern.compile("[\\p{P}!-/:-@\\[-`{-~]");
                Behavior b = behavior(src, n.path("behavior").asText("Isolated"));
                yield (piece, first, out) -> split(punct, false, b, piece, out);
            }
            case "Whitespace" -> {
                Pattern words = regex(src, "Whitespace", "\\w+|[^\\w\\s]+");
                yield (piece, first, out) -> split(words, true, Behavior.REMOVED, piece, out);
            }
            case "WhitespaceSplit" -> {
                Pattern ws = regex(src, "WhitespaceSplit", "\\s+");
                yield (piece, first, out) -> split(ws, false, Behavior.REMOVED, piece, out);
            }
            default -> throw unsupported(src, "pre_tokenizer", type,
                    "Sequence, ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit");
        };
    }

    private static Behavior behavior(String src, String name) {
        return switch (name) {
            case "Removed" -> Behavior.REMOVED;
            case "Isolated" -> Behavior.ISOLATED;
            case "MergedWithPrevious" -> Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> Behavior.CONTIGUOUS;
            default -> throw new MetagenException(src + ": unknown split behavior '" + name + "'");
        };
    }

    /**
     * Splits {@code s} at the matches of {@code p} (the tokenizers library's {@code NormalizedString::split}); with
     * {@code invert} the matches are the kept pieces and the text between them the delimiters. Empty pieces vanish.
     */
    static void split(Pattern p, boolean invert, Behavior behavior, String s, List<String> out) {
        // delimiters as [start, end) ranges
        List<int[]> parts = new ArrayList<>(); // {start, end, isDelimiter}
        Matcher m = p.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            if (m.start() > last) {
                parts.add(new int[]{last, m.start(), invert ? 1 : 0});
            }
            parts.add(new int[]{m.start(), m.end(), invert ? 0 : 1});
            last = m.end();
        }
        if (last < s.length()) {
            parts.add(new int[]{last, s.length(), invert ? 1 : 0});
        }
        switch (behavior) {
            case ISOLATED -> {
                for (int[] q : parts) {
                    out.add(s.substring(q[0], q[1]));
                }
            }
            case REMOVED -> {
                for (int[] q : parts) {
                    if (q[2] == 0) {
                        out.add(s.substring(q[0], q[1]));
                    }
                }
            }
            case CONTIGUOUS -> {
                int start = -1;
                boolean delim = false;
                for (int[] q : parts) {
                    if (start >= 0 && delim && q[2] == 1) {
                        continue; // extends the run of delimiters
                    }
                    if (start >= 0) {
                        out.add(s.substring(start, q[0]));
                    }
                    start = q[0];
                    delim = q[2] == 1;
                }
                if (start >= 0) {
                    out.add(s.substring(start));
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                int start = 0;
                for (int[] q : parts) {
                    if (q[2] == 1) {
                        out.add(s.substring(start, q[1]));
                        start = q[1];
                    }
                }
                if (start < s.length()) {
                    out.add(s.substring(start));
                }
            }
            case MERGED_WITH_NEXT -> {
                int start = 0;
                for (int[] q : parts) {
                    if (q[2] == 1 && q[0] > start) {
                        out.add(s.substring(start, q[0]));
                        start = q[0];
                    }
                }
                if (start < s.length()) {
                    out.add(s.substring(start));
                }
            }
        }
    }

    /** GPT-2's bytes_to_unicode spelling of a string's UTF-8 bytes. */
    static String byteLevel(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            chars[i] = ByteLevelBpeTokenizer.BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(chars);
    }

    /** The bytes a byte-level token spells; a character outside the alphabet stands for its own UTF-8 bytes. */
    static byte[] byteLevelBytes(String token) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(token.length());
        appendByteLevel(token, out);
        return out.toByteArray();
    }

    private static void appendByteLevel(String token, ByteArrayOutputStream out) {
        for (int i = 0; i < token.length(); i++) {
            int b = ByteLevelBpeTokenizer.byteOfChar(token.charAt(i));
            if (b < 0) {
                // the tokenizers library keeps such a token's own UTF-8 bytes
                out.writeBytes(token.getBytes(StandardCharsets.UTF_8));
                return;
            }
        }
        for (int i = 0; i < token.length(); i++) {
            out.write(ByteLevelBpeTokenizer.byteOfChar(token.charAt(i)));
        }
    }

    // ---------------------------------------------------------------- post-processors

    /** Adds special tokens around an encoded sequence. */
    interface PostProcessor {
        int[] process(int[] ids);

        /** The ids added before the sequence. */
        int[] prefix();

        /** The ids added after the sequence. */
        int[] suffix();
    }

    record Affix(int[] prefix, int[] suffix) implements PostProcessor {
        @Override
        public int[] process(int[] ids) {
            int[] out = new int[prefix.length + ids.length + suffix.length];
            System.arraycopy(prefix, 0, out, 0, prefix.length);
            System.arraycopy(ids, 0, out, prefix.length, ids.length);
            System.arraycopy(suffix, 0, out, prefix.length + ids.length, suffix.length);
            return out;
        }
    }

    static PostProcessor postProcessor(String src, JsonNode n) {
        if (n == null || n.isNull()) {
            return new Affix(new int[0], new int[0]);
        }
        String type = type(src, "post_processor", n);
        return switch (type) {
            case "ByteLevel" -> new Affix(new int[0], new int[0]); // offsets only
            case "TemplateProcessing" -> {
                PreTokenizer.IntList before = new PreTokenizer.IntList();
                PreTokenizer.IntList after = new PreTokenizer.IntList();
                boolean seenA = false;
                for (JsonNode item : n.path("single")) {
                    if (item.has("Sequence")) {
                        seenA = true;
                        continue;
                    }
                    String name = item.path("SpecialToken").path("id").asText();
                    JsonNode spec = n.path("special_tokens").path(name);
                    if (spec.isMissingNode()) {
                        throw new MetagenException(src + ": post_processor template names special token '" + name
                                + "' missing from its special_tokens");
                    }
                    for (JsonNode id : spec.path("ids")) {
                        (seenA ? after : before).add(id.asInt());
                    }
                }
                yield new Affix(before.toArray(), after.toArray());
            }
            case "RobertaProcessing", "BertProcessing" -> new Affix(new int[]{n.path("cls").path(1).asInt()},
                    new int[]{n.path("sep").path(1).asInt()});
            case "Sequence" -> {
                PreTokenizer.IntList before = new PreTokenizer.IntList();
                List<int[]> afters = new ArrayList<>();
                for (JsonNode c : n.path("processors")) {
                    PostProcessor p = postProcessor(src, c);
                    // each processor wraps what the previous ones produced
                    int[] pre = p.prefix();
                    PreTokenizer.IntList merged = new PreTokenizer.IntList();
                    for (int id : pre) {
                        merged.add(id);
                    }
                    for (int id : before.toArray()) {
                        merged.add(id);
                    }
                    before = merged;
                    afters.add(p.suffix());
                }
                PreTokenizer.IntList after = new PreTokenizer.IntList();
                for (int[] a : afters) {
                    for (int id : a) {
                        after.add(id);
                    }
                }
                yield new Affix(before.toArray(), after.toArray());
            }
            default -> throw unsupported(src, "post_processor", type,
                    "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
        };
    }

    // ---------------------------------------------------------------- decoders

    /** One decoder of a chain, which turns token strings back into text step by step ({@code decode_chain}). */
    record DecoderStep(String type, Replacer replacer, String replacement, boolean stripFirst, String content,
                       int start, int stop, String suffix) {}

    static List<DecoderStep> decoders(String src, JsonNode n) {
        List<DecoderStep> steps = new ArrayList<>();
        if (n == null || n.isNull()) {
            return steps;
        }
        String type = type(src, "decoder", n);
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("decoders")) {
                    steps.addAll(decoders(src, c));
                }
            }
            case "ByteLevel", "Fuse", "ByteFallback" -> steps.add(new DecoderStep(type, null, null, false, null, 0, 0, null));
            case "Replace" -> steps.add(new DecoderStep(type, replacer(src, "decoder Replace", n), null, false, null, 0, 0, null));
            case "Metaspace" -> {
                String scheme = n.has("prepend_scheme") ? n.get("prepend_scheme").asText("always")
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                steps.add(new DecoderStep(type, null, n.path("replacement").asText("\u2581"), !scheme.equals("never"),
                        null, 0, 0, null));
            }
            case "Strip" -> steps.add(new DecoderStep(type, null, null, false, n.path("content").asText(" "),
                    n.path("start").asInt(0), n.path("stop").asInt(0), null));
            case "BPEDecoder" -> steps.add(new DecoderStep(type, null, null, false, null, 0, 0,
                    n.path("suffix").asText("</w>")));
            default -> throw unsupported(src, "decoder", type,
                    "Sequence, ByteLevel, ByteFallback, Fuse, Replace, Metaspace, Strip, BPEDecoder");
        }
        return steps;
    }

    /** Runs a decoder chain over token strings and joins the result. */
    static String decode(List<DecoderStep> steps, List<String> tokens) {
        List<String> t = tokens;
        for (DecoderStep d : steps) {
            t = switch (d.type()) {
                case "ByteLevel" -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    for (String s : t) {
                        appendByteLevel(s, out);
                    }
                    yield List.of(out.toString(StandardCharsets.UTF_8));
                }
                case "Fuse" -> List.of(String.join("", t));
                case "Replace" -> t.stream().map(d.replacer()::apply).toList();
                case "Metaspace" -> {
                    List<String> out = new ArrayList<>(t.size());
                    for (int i = 0; i < t.size(); i++) {
                        String s = t.get(i).replace(d.replacement(), " ");
                        out.add(i == 0 && d.stripFirst() && s.startsWith(" ") ? s.substring(1) : s);
                    }
                    yield out;
                }
                case "Strip" -> t.stream().map(s -> stripChars(s, d.content(), d.start(), d.stop())).toList();
                case "ByteFallback" -> byteFallback(t);
                case "BPEDecoder" -> {
                    List<String> out = new ArrayList<>(t.size());
                    for (int i = 0; i < t.size(); i++) {
                        out.add(t.get(i).replace(d.suffix(), i == t.size() - 1 ? "" : " "));
                    }
                    yield out;
                }
                default -> throw new IllegalStateException(d.type());
            };
        }
        return String.join("", t);
    }

    private static String stripChars(String s, String content, int start, int stop) {
        int a = 0;
        for (int i = 0; i < start && s.startsWith(content, a); i++) {
            a += content.length();
        }
        int b = s.length();
        for (int i = 0; i < stop && b - content.length() >= a && s.startsWith(content, b - content.length()); i++) {
            b -= content.length();
        }
        return s.substring(a, b);
    }

    /** The byte a {@code <0xXX>} token stands for, or -1. */
    static int fallbackByte(String token) {
        if (token.length() != 6 || !token.startsWith("<0x") || token.charAt(5) != '>') {
            return -1;
        }
        try {
            return Integer.parseInt(token.substring(3, 5), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Runs of {@code <0xXX>} tokens become their text; invalid UTF-8 becomes one U+FFFD per byte (as the library). */
    private static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        int runLength = 0;
        for (String t : tokens) {
            int b = fallbackByte(t);
            if (b >= 0) {
                run.write(b);
                runLength++;
                continue;
            }
            if (runLength > 0) {
                out.add(utf8OrReplacement(run.toByteArray()));
                run.reset();
                runLength = 0;
            }
            out.add(t);
        }
        if (runLength > 0) {
            out.add(utf8OrReplacement(run.toByteArray()));
        }
        return out;
    }

    private static String utf8OrReplacement(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return "\uFFFD".repeat(bytes.length);
        }
    }

    /**
     * The bytes one token contributes to the output, by the position-independent decoder steps (Strip and the first
     * token's Metaspace space are left out): concatenated, they spell {@link #decode}'s result.
     */
    static byte[] tokenBytes(List<DecoderStep> steps, String token) {
        String s = token;
        for (DecoderStep d : steps) {
            switch (d.type()) {
                case "ByteLevel" -> {
                    return byteLevelBytes(s);
                }
                case "ByteFallback" -> {
                    int b = fallbackByte(s);
                    if (b >= 0) {
                        return new byte[]{(byte) b};
                    }
                }
                case "Replace" -> s = d.replacer().apply(s);
                case "Metaspace" -> s = s.replace(d.replacement(), " ");
                case "BPEDecoder" -> s = s.replace(d.suffix(), " ");
                default -> { } // Fuse and Strip act on the whole sequence
            }
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- helpers

    private static String type(String src, String what, JsonNode n) {
        JsonNode t = n.get("type");
        if (t == null || !t.isTextual()) {
            throw new MetagenException(src + ": " + what + " has no type");
        }
        return t.asText();
    }

    private static MetagenException unsupported(String src, String what, String type, String supported) {
        return new MetagenException(src + ": unsupported " + what + " type '" + type + "' (supported: " + supported + ")");
    }
}
