package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Splits text into words before byte-level BPE, as llama.cpp's {@code unicode_regex_split} does: a list of regexes
 * applied in turn, each to the pieces the previous one left (matches and the gaps between them both become pieces).
 * The GPT-2, Llama-3 and Qwen2 regexes use llama.cpp's hand-written splitters; every other regex runs on
 * java.util.regex over the same "collapsed" text llama.cpp hands to std::regex (each code point replaced by one
 * character standing for its Unicode category), so category semantics come from llama.cpp's table, not the JDK's.
 */
public final class PreTokenizer {

    // The regex texts are those of llama.cpp's llm_tokenizer_bpe (src/llama-vocab.cpp), character for character:
    // the custom splitters are chosen by comparing against exactly these strings.
    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String TEKKEN = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
            + "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String GPT4O = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
            + "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
            + "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*"
            + "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String PORO = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";

    private static final List<String> DEFAULT = List.of(
            "[\\p{P}\\$\\+<=>\\^~\\|]+",
            GPT2,
            "\\p{N}+",
            "[0-9][0-9][0-9]");
    private static final List<String> DEEPSEEK_LLM = List.of(
            "[\r\n]",
            "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\uD801\uDC00-\uD801\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801\uDCFB\uD803\uDC80-\uD803\uDCB2\uD803\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF\uD83A\uDD00-\uD83A\uDD43]+",
            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
            "\\s+$",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            "\\p{N}+");
    private static final List<String> DEEPSEEK3 = List.of(
            "\\p{N}{1,3}",
            "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                    + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+");
    private static final List<String> DEEPSEEK_CODER = List.of(
            "[\r\n]",
            "\\s?\\p{L}+",
            "\\s?\\p{P}+",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            "\\p{N}");
    private static final List<String> FALCON = List.of(
            "[\\p{P}\\$\\+<=>\\^~\\|`]+",
            GPT2,
            "[0-9][0-9][0-9]");
    private static final List<String> STARCODER = List.of("\\p{N}", GPT2);
    private static final List<String> CHAMELEON = List.of(
            "<sentinel:[0-9]+>",
            "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
            "([\\t\\n]|    |  )",
            "\\p{N}",
            "[\\p{P}!-/:-@\\[-`{-~]",
            GPT2);

    /** What a {@code tokenizer.ggml.pre} value means to llama.cpp: the regexes and the flags it sets. */
    record Spec(String name, List<String> regexes, boolean ignoreMerges, boolean addBosDefault) {}

    private static final Map<String, Spec> SPECS = specs();

    private static Map<String, Spec> specs() {
        var m = new java.util.HashMap<String, Spec>();
        java.util.function.BiConsumer<List<String>, String[]> plain = (rx, names) -> {
            for (String n : names) {
                m.put(n, new Spec(n, rx, false, false));
            }
        };
        plain.accept(DEFAULT, new String[]{"default"});
        for (String n : new String[]{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                "jina-v5-nano"}) {
            m.put(n, new Spec(n, List.of(LLAMA3), true, true));
        }
        plain.accept(List.of(LLAMA3), new String[]{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"});
        plain.accept(DEEPSEEK_LLM, new String[]{"deepseek-llm"});
        plain.accept(DEEPSEEK_CODER, new String[]{"deepseek-coder"});
        plain.accept(DEEPSEEK3, new String[]{"deepseek-v3"});
        plain.accept(FALCON, new String[]{"falcon"});
        plain.accept(STARCODER, new String[]{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"});
        plain.accept(List.of(GPT2), new String[]{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                "a.x-4.0", "mellum", "roberta-bpe", "jina-v1-en", "jina-v2-code", "exaone4", "mpt", "olmo", "jais", "trillion",
                "granite-docling"});
        plain.accept(List.of(QWEN2), new String[]{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "solar-open"});
        plain.accept(List.of(PORO), new String[]{"poro-chat", "bloom", "gpt3-finnish"});
        plain.accept(List.of(PORO, "\\p{N}"), new String[]{"viking"});
        m.put("tekken", new Spec("tekken", List.of(TEKKEN), true, true));
        plain.accept(List.of(GPT4O), new String[]{"gpt-4o", "llama4"});
        m.put("chameleon", new Spec("chameleon", CHAMELEON, false, true));
        return Map.copyOf(m);
    }

    /** The spec for a {@code tokenizer.ggml.pre} value (null or absent means llama.cpp's "default"), or null if unknown. */
    static Spec spec(String pre) {
        return SPECS.get(pre == null || pre.isEmpty() ? "default" : pre);
    }

    /** The pre-tokenizer llama.cpp uses for this {@code tokenizer.ggml.pre} value. */
    public static PreTokenizer forName(String pre) {
        Spec s = spec(pre);
        if (s == null) {
            throw new MetagenException("unsupported pre-tokenizer tokenizer.ggml.pre = '" + pre + "'");
        }
        return new PreTokenizer(s.regexes());
    }

    private sealed interface Step permits Custom, CollapsedRegex, WideRegex {}

    private record Custom(String kind) implements Step {}

    private record CollapsedRegex(Pattern pattern) implements Step {}

    private record WideRegex(Pattern pattern) implements Step {}

    private final List<Step> steps;
    private final boolean needsCollapsed;

    PreTokenizer(List<String> regexes) {
        List<Step> s = new ArrayList<>();
        boolean collapsed = false;
        for (String rx : regexes) {
            Step step = compile(rx);
            collapsed |= step instanceof CollapsedRegex;
            s.add(step);
        }
        this.steps = List.copyOf(s);
        this.needsCollapsed = collapsed;
    }

    /** Splits text into words (as strings), for tests and inspection. */
    public List<String> split(String text) {
        int[] cpts = text.codePoints().toArray();
        int[] lengths = splitLengths(cpts);
        List<String> words = new ArrayList<>(lengths.length);
        int start = 0;
        for (int len : lengths) {
            words.add(new String(cpts, start, len));
            start += len;
        }
        return words;
    }

    /** Splits a code point sequence; returns the word lengths in code points, in order, summing to the input length. */
    int[] splitLengths(int[] cpts) {
        IntList offsets = new IntList();
        if (cpts.length > 0) {
            offsets.add(cpts.length);
        }
        String collapsed = needsCollapsed ? collapse(cpts) : null;
        Wide wide = null;
        for (Step step : steps) {
            offsets = switch (step) {
                case Custom c -> CustomSplitters.split(c.kind(), cpts, offsets);
                case CollapsedRegex r -> regexSplit(r.pattern(), collapsed, null, offsets);
                case WideRegex r -> {
                    if (wide == null) {
                        wide = wide(cpts);
                    }
                    yield regexSplit(r.pattern(), wide.text(), wide.charIndex(), offsets);
                }
            };
        }
        return offsets.toArray();
    }

    private static Step compile(String rx) {
        if (rx.equals(GPT2)) {
            return new Custom("gpt2");
        }
        if (rx.equals(LLAMA3)) {
            return new Custom("llama3");
        }
        if (rx.equals(QWEN2)) {
            return new Custom("qwen2");
        }
        try {
            if (usesCategories(rx)) {
                return new CollapsedRegex(Pattern.compile(collapseRegex(rx)));
            }
            return new WideRegex(Pattern.compile(rx.endsWith("$") && !rx.endsWith("\\$")
                    ? rx.substring(0, rx.length() - 1) + "\\z" : rx));
        } catch (PatternSyntaxException e) {
            throw new MetagenException("pre-tokenizer regex does not compile: " + rx + " (" + e.getDescription() + ")");
        }
    }

    // llama.cpp's k_ucat_enum: the \p{..} classes it understands, each mapped to the category flag it stands for
    private static final Map<String, Integer> CATEGORY_CLASSES = Map.of(
            "\\p{N}", UnicodeFlags.NUMBER, "\\p{L}", UnicodeFlags.LETTER, "\\p{P}", UnicodeFlags.PUNCTUATION,
            "\\p{M}", UnicodeFlags.ACCENT_MARK, "\\p{S}", UnicodeFlags.SYMBOL,
            "\\p{Lu}", UnicodeFlags.LETTER, "\\p{Ll}", UnicodeFlags.LETTER, "\\p{Lt}", UnicodeFlags.LETTER,
            "\\p{Lm}", UnicodeFlags.LETTER, "\\p{Lo}", UnicodeFlags.LETTER);

    private static boolean usesCategories(String rx) {
        for (String c : CATEGORY_CLASSES.keySet()) {
            if (rx.contains(c)) {
                return true;
            }
        }
        return false;
    }

    /** The single character standing for a category in collapsed text (llama.cpp's k_ucat_cpt). */
    private static char categoryChar(int flag) {
        return switch (flag) {
            case UnicodeFlags.NUMBER -> '\u00D1';
            case UnicodeFlags.LETTER -> '\u00D2';
            case UnicodeFlags.PUNCTUATION -> '\u00D3';
            case UnicodeFlags.ACCENT_MARK -> '\u00D4';
            case UnicodeFlags.SYMBOL -> '\u00D5';
            default -> '\u00D0';
        };
    }

    /** The ASCII members of a category, as a character-class body (llama.cpp's k_ucat_map). */
    private static String asciiMembers(int flag) {
        return switch (flag) {
            case UnicodeFlags.NUMBER -> "0-9";
            case UnicodeFlags.LETTER -> "A-Za-z";
            case UnicodeFlags.PUNCTUATION -> "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";
            case UnicodeFlags.SYMBOL -> "\\$\\+<->\\^`\\|\\~";
            default -> "";
        };
    }

    /** Rewrites \p{..} into classes over collapsed text, the way llama.cpp rewrites its regex for std::regex. */
    static String collapseRegex(String rx) {
        StringBuilder out = new StringBuilder();
        boolean inside = false;
        for (int i = 0; i < rx.length(); i++) {
            char c = rx.charAt(i);
            if (c >= 128) {
                throw new MetagenException("pre-tokenizer regex mixes Unicode categories and non-ASCII characters: " + rx);
            }
            if (c == '[' && (i == 0 || rx.charAt(i - 1) != '\\')) {
                out.append('[');
                inside = true;
                continue;
            }
            if (inside && c == ']' && rx.charAt(i - 1) != '\\') {
                out.append(']');
                inside = false;
                continue;
            }
            if (c == '\\' && i + 3 < rx.length() && rx.charAt(i + 1) == 'p' && rx.charAt(i + 2) == '{') {
                int close = rx.indexOf('}', i + 3);
                if (close >= 0 && close <= i + 10) {
                    Integer flag = CATEGORY_CLASSES.get(rx.substring(i, close + 1));
                    if (flag != null) {
                        if (!inside) {
                            out.append('[');
                        }
                        out.append(categoryChar(flag)).append(asciiMembers(flag));
                        if (!inside) {
                            out.append(']');
                        }
                        i = close;
                        continue;
                    }
                }
            }
            out.append(c);
        }
        return out.toString();
    }

    /** One character per code point: ASCII stays, whitespace becomes \v, everything else its category character. */
    private static String collapse(int[] cpts) {
        char[] out = new char[cpts.length];
        for (int i = 0; i < cpts.length; i++) {
            int cp = cpts[i];
            if (cp < 128) {
                out[i] = (char) cp;
                continue;
            }
            int f = UnicodeFlags.of(cp);
            out[i] = (f & UnicodeFlags.WHITESPACE) != 0 ? '\u000B' : categoryChar(f & UnicodeFlags.MASK_CATEGORIES);
        }
        return new String(out);
    }

    /** The text for category-free regexes: the code points themselves, non-ASCII whitespace replaced by \v. */
    private record Wide(String text, int[] charIndex) {}

    private static Wide wide(int[] cpts) {
        StringBuilder sb = new StringBuilder(cpts.length + 16);
        int[] charIndex = new int[cpts.length + 1]; // code point index -> UTF-16 index
        for (int i = 0; i < cpts.length; i++) {
            charIndex[i] = sb.length();
            int cp = cpts[i];
            sb.appendCodePoint(cp > 0x7F && UnicodeFlags.isWhitespace(cp) ? 0x0B : cp);
        }
        charIndex[cpts.length] = sb.length();
        return new Wide(sb.toString(), charIndex);
    }

    /**
     * Runs a regex over each piece separately (llama.cpp's unicode_regex_split_stl): a match and the gap before it
     * become pieces, and so does what remains after the last match. {@code charIndex} maps code point indices to
     * string indices (null when they coincide).
     */
    private static IntList regexSplit(Pattern p, String text, int[] charIndex, IntList offsets) {
        IntList out = new IntList();
        Matcher m = p.matcher(text);
        int start = 0;
        for (int k = 0; k < offsets.size(); k++) {
            int len = offsets.get(k);
            int end = start + len;
            m.region(charIndex == null ? start : charIndex[start], charIndex == null ? end : charIndex[end]);
            int prev = start; // in code points
            while (m.find()) {
                int ms = toCodePoint(charIndex, m.start(), start, end);
                int me = toCodePoint(charIndex, m.end(), ms, end);
                if (ms > prev) {
                    out.add(ms - prev);
                }
                out.add(me - ms);
                prev = me;
            }
            if (prev < end) {
                out.add(end - prev);
            }
            start = end;
        }
        return out;
    }

    private static int toCodePoint(int[] charIndex, int charPos, int from, int to) {
        if (charIndex == null) {
            return charPos;
        }
        int i = Arrays.binarySearch(charIndex, from, to + 1, charPos);
        if (i < 0) {
            throw new IllegalStateException("regex match splits a surrogate pair");
        }
        return i;
    }

    /** A growable int array. */
    static final class IntList {
        private int[] a = new int[16];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int get(int i) {
            return a[i];
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
