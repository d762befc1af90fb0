package dev.metagen.server;

import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.StopStrings;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Streams a constrained generation as it is made: the output is the concatenation of the tokens' bytes (what the
 * constraint saw), so text is released only up to the last complete UTF-8 character and before anything that may
 * still become a stop string.
 */
final class TokenBytesStream implements IntConsumer {
    private final Tokenizer tokenizer;
    private final StopStrings stops;
    private final Consumer<String> out;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final StringBuilder sent = new StringBuilder();
    private int decoded;

    TokenBytesStream(Tokenizer tokenizer, List<String> stops, Consumer<String> out) {
        this.tokenizer = tokenizer;
        this.stops = new StopStrings(stops);
        this.out = out;
    }

    @Override
    public void accept(int token) {
        bytes.writeBytes(tokenizer.tokenBytes(token));
        byte[] all = bytes.toByteArray();
        int end = completeUpTo(all);
        String piece = new String(all, decoded, end - decoded, StandardCharsets.UTF_8);
        decoded = end;
        emit(stops.accept(piece));
    }

    /** After the generation: whatever of the final text was not sent yet. */
    void finish(String finalText) {
        if (finalText.startsWith(sent.toString())) {
            emit(finalText.substring(sent.length()));
        }
    }

    private void emit(String piece) {
        if (!piece.isEmpty()) {
            sent.append(piece);
            out.accept(piece);
        }
    }

    /** The length of the longest prefix of {@code b} that does not end inside a UTF-8 sequence. */
    static int completeUpTo(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xff;
            if ((c & 0xC0) == 0x80) {
                continue; // a continuation byte: look further back for the lead byte
            }
            int need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
