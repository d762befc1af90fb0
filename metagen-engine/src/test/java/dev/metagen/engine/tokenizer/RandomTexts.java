package dev.metagen.engine.tokenizer;

import java.util.List;
import java.util.SplittableRandom;

/** Seeded random and adversarial strings for tokenizer comparisons: scripts, emoji, whitespace runs, code, digits. */
final class RandomTexts {
    private static final List<String> WORDS = List.of("the", "Hello", "world", "DON'T", "I'M", "you'RE", "they'll",
            "we'VE", "it's", "'s", "'t", "'Re", "'LL", "'d", "Mr.", "e.g.", "naïve", "café", "Ünïcödé", "straße",
            "ﬁne", "İstanbul", "ǅemal", "ΣΊΣΥΦΟΣ", "Привет", "мир", "שלום", "مرحبا", "नमस्ते", "สวัสดี", "日本語",
            "中文字符", "한국어", "カタカナ", "ひらがな", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "µ", "Ωmega", "Kelvin", "ℌ", "x²", "½", "Ⅻ", "٣٤٥",
            "१२३", "𝟘𝟙𝟚");
    private static final List<String> CODE = List.of("def f(x):\n    return x**2\n", "if (a && b) { c[i] = d->e; }",
            "#include <stdio.h>\n", "for i in range(10):\n\tprint(i)", "x = {\"k\": [1, 2.5e-3, null]}",
            "SELECT * FROM t WHERE id=42;", "<div class=\"a\">&nbsp;</div>", "$ ls -la | grep '^d'",
            "```java\nint x = 0;\n```", "a += b; // comment", "/* block */", "λx.x", "0x1F 0b1010 1_000_000");
    private static final List<String> SPACES = List.of(" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n",
            "\t\t", "\u00A0", "\u3000", "\u2028", "\u0085", "\u2009", " \t \n ", "\u000B", "\f", "    ", "\n   \n");
    private static final List<String> EMOJI = List.of("🦙", "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "❤️", "✨",
            "🤔💭", "🧑🏿‍💻", "©", "™", "☃", "⌘", "🀄", "𓂀");
    private static final List<String> MARKS = List.of("\u0301", "\u0308", "\u0323\u0302", "\u200D", "\u200B",
            "\uFE0F", "\u034F", "\u20DD", "\u0E31", "\u093F", "\u05B8");
    private static final List<String> PUNCT = List.of(".", ",", "!", "?", "...", "…", "—", "–", "«", "»", "“", "”",
            "'", "\"", "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "|", "~", "^", "`", "$", "+", "=", "@",
            "#", "%", "&", "*", "_", "-", ";", ":", "。", "、", "！", "？", "¿", "¡", "§", "¶", "€", "£", "¥");

    private RandomTexts() {}

    /** A random string of up to about {@code maxPieces} pieces; {@code specials} are mixed in when non-empty. */
    static String next(SplittableRandom r, int maxPieces, List<String> specials) {
        StringBuilder sb = new StringBuilder();
        int pieces = 1 + r.nextInt(maxPieces);
        for (int i = 0; i < pieces; i++) {
            int kind = r.nextInt(specials.isEmpty() ? 11 : 12);
            switch (kind) {
                case 0, 1 -> sb.append(pick(r, WORDS));
                case 2 -> sb.append(pick(r, SPACES));
                case 3 -> digits(r, sb);
                case 4 -> sb.append(pick(r, CODE));
                case 5 -> sb.append(pick(r, EMOJI));
                case 6 -> sb.append(pick(r, MARKS));
                case 7 -> sb.append(pick(r, PUNCT));
                case 8 -> randomCodePoints(r, sb);
                case 9 -> asciiNoise(r, sb);
                case 10 -> sb.append(pick(r, SPACES)).append(pick(r, WORDS));
                default -> sb.append(pick(r, specials));
            }
        }
        return sb.toString();
    }

    private static String pick(SplittableRandom r, List<String> xs) {
        return xs.get(r.nextInt(xs.size()));
    }

    private static void digits(SplittableRandom r, StringBuilder sb) {
        int n = 1 + r.nextInt(12);
        for (int i = 0; i < n; i++) {
            sb.append((char) ('0' + r.nextInt(10)));
        }
    }

    private static void asciiNoise(SplittableRandom r, StringBuilder sb) {
        int n = 1 + r.nextInt(10);
        for (int i = 0; i < n; i++) {
            sb.append((char) (0x20 + r.nextInt(0x5F)));
        }
    }

    /** Code points from anywhere (assigned or not, all planes, controls), never a surrogate or NUL. */
    private static void randomCodePoints(SplittableRandom r, StringBuilder sb) {
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            int cp;
            do {
                cp = switch (r.nextInt(4)) {
                    case 0 -> 1 + r.nextInt(0x7F);
                    case 1 -> 0x80 + r.nextInt(0x780);
                    case 2 -> 0x800 + r.nextInt(0xF800);
                    default -> 0x10000 + r.nextInt(0x100000);
                };
            } while (cp >= 0xD800 && cp <= 0xDFFF);
            sb.appendCodePoint(cp);
        }
    }

    /** A long mixed text, for speed checks. */
    static String longText(long seed, int chars) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(chars + 64);
        while (sb.length() < chars) {
            sb.append(next(r, 6, List.of())).append(' ');
        }
        return sb.substring(0, chars - (Character.isHighSurrogate(sb.charAt(chars - 1)) ? 1 : 0));
    }

}
