package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Unicode code point classes exactly as llama.cpp's {@code unicode.cpp} sees them (general category flags plus its
 * whitespace set), read from a table taken from llama.cpp so that splits do not depend on the JDK's Unicode version.
 */
final class UnicodeFlags {
    static final int UNDEFINED = 0x0001;
    static final int NUMBER = 0x0002;
    static final int LETTER = 0x0004;
    static final int SEPARATOR = 0x0008;
    static final int ACCENT_MARK = 0x0010;
    static final int PUNCTUATION = 0x0020;
    static final int SYMBOL = 0x0040;
    static final int CONTROL = 0x0080;
    static final int MASK_CATEGORIES = 0x00FF;
    static final int WHITESPACE = 0x0100;

    static final int MAX_CODEPOINTS = 0x110000;

    /** Python's / llama.cpp's {@code \s} set. */
    private static final int[] WHITESPACE_CODEPOINTS = {
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000};

    private static final short[] FLAGS = load();

    private UnicodeFlags() {}

    /** The flags of a code point; 0 (no flags at all) for values outside Unicode, like llama.cpp. */
    static int of(int cp) {
        return cp >= 0 && cp < MAX_CODEPOINTS ? FLAGS[cp] : 0;
    }

    static boolean isWhitespace(int cp) {
        return (of(cp) & WHITESPACE) != 0;
    }

    private static short[] load() {
        short[] flags = new short[MAX_CODEPOINTS];
        String name = "unicode-flags.txt";
        try (InputStream in = UnicodeFlags.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new MetagenException("tokenizer resource " + name + " is missing from the classpath");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            int prevStart = -1;
            int prevFlags = 0;
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int sp = line.indexOf(' ');
                int start = Integer.parseInt(line, 0, sp, 16);
                int f = Integer.parseInt(line, sp + 1, line.length(), 16);
                if (prevStart >= 0) {
                    for (int cp = prevStart; cp < start; cp++) {
                        flags[cp] = (short) prevFlags;
                    }
                }
                prevStart = start;
                prevFlags = f;
            }
            if (prevStart != MAX_CODEPOINTS) {
                throw new MetagenException("tokenizer resource " + name + " does not end at U+110000");
            }
        } catch (IOException e) {
            throw new MetagenException("cannot read tokenizer resource " + name + ": " + MetagenException.describe(e), e);
        }
        for (int cp : WHITESPACE_CODEPOINTS) {
            flags[cp] |= WHITESPACE;
        }
        return flags;
    }
}
