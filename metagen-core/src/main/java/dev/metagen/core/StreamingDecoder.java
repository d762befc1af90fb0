package dev.metagen.core;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Incremental detokenizer: accepts token ids one at a time and returns only complete UTF-8 characters,
 * holding back the bytes of a character that a later token will finish.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /**
     * A decoder over {@code tokenizer}'s vocabulary.
     *
     * @param tokenizer the tokenizer
     */
    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds one token; returns the text that is now complete (possibly empty).
     *
     * @param id the token id
     * @return the completed text
     */
    public String accept(int id) {
        byte[] b = tokenizer.tokenBytes(id);
        pending.write(b, 0, b.length);
        byte[] all = pending.toByteArray();
        int cut = completePrefixLength(all);
        pending.reset();
        pending.write(all, cut, all.length - cut);
        return new String(all, 0, cut, StandardCharsets.UTF_8);
    }

    /**
     * Emits whatever is held back (an incomplete character becomes U+FFFD).
     *
     * @return the held-back text
     */
    public String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /**
     * Length of the longest prefix that does not end inside a UTF-8 sequence that could still be completed.
     * Invalid bytes are let through (they decode to U+FFFD) so nothing is held back forever.
     */
    static int completePrefixLength(byte[] b) {
        int n = b.length;
        // look back at most 3 bytes for the start of a multi-byte sequence
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for the lead byte
            }
            int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
