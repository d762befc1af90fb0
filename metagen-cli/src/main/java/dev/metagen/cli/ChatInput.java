package dev.metagen.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Reads one chat message from the terminal. A line is a message; a line ending with {@code \} continues on the
 * next line (the backslash becomes a line break); a line that is exactly {@code """} opens a block that runs to
 * the next such line, for pasting text verbatim.
 */
final class ChatInput {
    static final String BLOCK = "\"\"\"";

    private final BufferedReader in;

    ChatInput(BufferedReader in) {
        this.in = in;
    }

    /** The next message, or null at end of input (an unfinished block or continuation is returned as it is). */
    String next() {
        try {
            String line = in.readLine();
            if (line == null) {
                return null;
            }
            if (line.strip().equals(BLOCK)) {
                StringBuilder sb = new StringBuilder();
                for (String l = in.readLine(); l != null && !l.strip().equals(BLOCK); l = in.readLine()) {
                    if (!sb.isEmpty()) {
                        sb.append('\n');
                    }
                    sb.append(l);
                }
                return sb.toString();
            }
            StringBuilder sb = new StringBuilder();
            while (line != null && line.endsWith("\\")) {
                sb.append(line, 0, line.length() - 1).append('\n');
                line = in.readLine();
            }
            if (line != null) {
                sb.append(line);
            }
            return sb.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
