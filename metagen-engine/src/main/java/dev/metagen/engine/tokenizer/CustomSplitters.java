package dev.metagen.engine.tokenizer;

import static dev.metagen.engine.tokenizer.UnicodeFlags.LETTER;
import static dev.metagen.engine.tokenizer.UnicodeFlags.NUMBER;
import static dev.metagen.engine.tokenizer.UnicodeFlags.WHITESPACE;

/**
 * Hand-written splitters for the GPT-2, Llama-3 and Qwen2 pre-tokenizer regexes, with the exact behaviour of
 * llama.cpp's {@code unicode_regex_split_custom_gpt2/llama3/qwen2} (which is what llama.cpp runs for those regexes,
 * instead of a regex engine). Each piece of the incoming split is processed on its own: positions outside it read
 * as "no code point, no flags".
 */
final class CustomSplitters {
    private CustomSplitters() {}

    private static final int OUT_OF_RANGE = -1;

    static PreTokenizer.IntList split(String kind, int[] cpts, PreTokenizer.IntList offsets) {
        PreTokenizer.IntList out = new PreTokenizer.IntList();
        int start = 0;
        for (int k = 0; k < offsets.size(); k++) {
            int end = start + offsets.get(k);
            Piece piece = new Piece(cpts, start, end, out);
            switch (kind) {
                case "gpt2" -> piece.gpt2();
                case "llama3" -> piece.llama3(true);
                case "qwen2" -> piece.llama3(false);
                default -> throw new IllegalArgumentException(kind);
            }
            start = end;
        }
        return out;
    }

    /** One piece of text being split into words. */
    private static final class Piece {
        private final int[] cpts;
        private final int ini;
        private final int end;
        private final PreTokenizer.IntList out;
        private int prevEnd;

        Piece(int[] cpts, int ini, int end, PreTokenizer.IntList out) {
            this.cpts = cpts;
            this.ini = ini;
            this.end = end;
            this.out = out;
            this.prevEnd = ini;
        }

        int cpt(int pos) {
            return pos >= ini && pos < end ? cpts[pos] : OUT_OF_RANGE;
        }

        int flags(int pos) {
            return pos >= ini && pos < end ? UnicodeFlags.of(cpts[pos]) : 0;
        }

        /** Ends a word at {@code to}; returns its length (0 adds nothing). */
        int addToken(int to) {
            int len = to - prevEnd;
            if (len > 0) {
                out.add(len);
            }
            prevEnd = to;
            return len;
        }

        static boolean is(int flags, int bit) {
            return (flags & bit) != 0;
        }

        /** 's|'t|'re|'ve|'m|'ll|'d (optionally case-insensitive); returns the contraction's length or 0. */
        int contraction(int pos, boolean ignoreCase) {
            if (cpt(pos) != '\'' || pos + 1 >= end) {
                return 0;
            }
            int next = lower(cpt(pos + 1), ignoreCase);
            if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                return 2;
            }
            if (pos + 2 < end) {
                int nextNext = lower(cpt(pos + 2), ignoreCase);
                if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
                    return 3;
                }
            }
            return 0;
        }

        // llama.cpp's unicode_tolower: only ASCII capitals lower-case to the letters a contraction can contain
        private static int lower(int cp, boolean ignoreCase) {
            return ignoreCase && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        }

        /** 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
        void gpt2() {
            for (int pos = ini; pos < end; ) {
                int cpt = cpt(pos);
                int flags = flags(pos);
                int c = contraction(pos, false);
                if (c > 0) {
                    pos += addToken(pos + c);
                    continue;
                }
                int flags2 = cpt == ' ' ? flags(pos + 1) : flags;
                if (is(flags2, LETTER)) {
                    pos += cpt == ' ' ? 1 : 0;
                    while (is(flags2, LETTER)) {
                        flags2 = flags(++pos);
                    }
                    addToken(pos);
                    continue;
                }
                if (is(flags2, NUMBER)) {
                    pos += cpt == ' ' ? 1 : 0;
                    while (is(flags2, NUMBER)) {
                        flags2 = flags(++pos);
                    }
                    addToken(pos);
                    continue;
                }
                if (!is(flags2, WHITESPACE | LETTER | NUMBER) && flags2 != 0) {
                    pos += cpt == ' ' ? 1 : 0;
                    while (!is(flags2, WHITESPACE | LETTER | NUMBER) && flags2 != 0) {
                        flags2 = flags(++pos);
                    }
                    addToken(pos);
                    continue;
                }
                int spaces = 0;
                while (is(flags(pos + spaces), WHITESPACE)) {
                    spaces++;
                }
                if (spaces > 1 && cpt(pos + spaces) != OUT_OF_RANGE) { // \s+(?!\S)
                    pos += spaces - 1;
                    addToken(pos);
                    continue;
                }
                if (spaces > 0) { // \s+
                    pos += spaces;
                    addToken(pos);
                    continue;
                }
                addToken(++pos); // no match
            }
        }

        /**
         * Llama-3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ ;
         * Qwen2 is the same with \p{N} instead of \p{N}{1,3}.
         */
        void llama3(boolean digitTriples) {
            for (int pos = ini; pos < end; ) {
                int cpt = cpt(pos);
                int flags = flags(pos);
                int c = contraction(pos, true);
                if (c > 0) {
                    pos += addToken(pos + c);
                    continue;
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if (!(cpt == '\r' || cpt == '\n' || is(flags, NUMBER))) {
                    if (is(flags, LETTER) || is(flags(pos + 1), LETTER)) {
                        pos++;
                        while (is(flags(pos), LETTER)) {
                            pos++;
                        }
                        addToken(pos);
                        continue;
                    }
                }
                if (is(flags, NUMBER)) {
                    if (digitTriples) { // \p{N}{1,3}
                        int first = pos;
                        while (is(flags(pos), NUMBER)) {
                            if (++pos - first >= 3) {
                                addToken(pos);
                                first = pos;
                            }
                        }
                    } else { // \p{N}
                        pos++;
                    }
                    addToken(pos);
                    continue;
                }
                // <space>?[^\s\p{L}\p{N}]+[\r\n]*
                int flags2 = cpt == ' ' ? flags(pos + 1) : flags;
                if (!is(flags2, WHITESPACE | LETTER | NUMBER) && flags != 0) {
                    pos += cpt == ' ' ? 1 : 0;
                    while (!is(flags2, WHITESPACE | LETTER | NUMBER) && flags2 != 0) {
                        flags2 = flags(++pos);
                    }
                    int cpt2 = cpt(pos);
                    while (cpt2 == '\r' || cpt2 == '\n') {
                        cpt2 = cpt(++pos);
                    }
                    addToken(pos);
                    continue;
                }
                int spaces = 0;
                int lastEndOfLine = 0;
                while (is(flags(pos + spaces), WHITESPACE)) {
                    int cpt2 = cpt(pos + spaces);
                    if (cpt2 == '\r' || cpt2 == '\n') {
                        lastEndOfLine = pos + spaces + 1;
                    }
                    spaces++;
                }
                if (lastEndOfLine > 0) { // \s*[\r\n]+
                    pos = lastEndOfLine;
                    addToken(pos);
                    continue;
                }
                if (spaces > 1 && cpt(pos + spaces) != OUT_OF_RANGE) { // \s+(?!\S)
                    pos += spaces - 1;
                    addToken(pos);
                    continue;
                }
                if (spaces > 0) { // \s+
                    pos += spaces;
                    addToken(pos);
                    continue;
                }
                addToken(++pos); // no match
            }
        }
    }
}
