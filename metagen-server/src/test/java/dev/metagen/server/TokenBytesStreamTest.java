package dev.metagen.server;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Releasing streamed bytes only at UTF-8 character boundaries. */
class TokenBytesStreamTest {
    @Test
    void stopsBeforeAnIncompleteCharacter() {
        byte[] euro = "a€".getBytes(StandardCharsets.UTF_8); // 61 E2 82 AC
        assertEquals(4, TokenBytesStream.completeUpTo(euro));
        assertEquals(1, TokenBytesStream.completeUpTo(java.util.Arrays.copyOf(euro, 3)));
        assertEquals(1, TokenBytesStream.completeUpTo(java.util.Arrays.copyOf(euro, 2)));
        byte[] emoji = "😀".getBytes(StandardCharsets.UTF_8);
        assertEquals(0, TokenBytesStream.completeUpTo(java.util.Arrays.copyOf(emoji, 3)));
        assertEquals(4, TokenBytesStream.completeUpTo(emoji));
        assertEquals(0, TokenBytesStream.completeUpTo(new byte[0]));
    }
}
