package dev.metagen.core;

/** A failure with a message meant for the user: one line naming what went wrong and where. */
public class MetagenException extends RuntimeException {
    /**
     * A failure described by {@code message}.
     *
     * @param message one line naming what went wrong and where
     */
    public MetagenException(String message) {
        super(message);
    }

    /**
     * A failure described by {@code message}, caused by {@code cause}.
     *
     * @param message one line naming what went wrong and where
     * @param cause the underlying failure
     */
    public MetagenException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * A one-line description of {@code t} for a message: its own message, or (for exceptions that carry none, such
     * as a {@link StackOverflowError} or a bare {@code ConnectException}) what its type means, never "null".
     *
     * @param t the failure (may be null)
     * @return one line, never null or empty
     */
    public static String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String m = t.getMessage();
        if (m != null && !m.isBlank()) {
            return m.strip().replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
        }
        return switch (t) {
            case StackOverflowError e -> "nested too deeply";
            case OutOfMemoryError e -> "too large (out of memory)";
            case java.net.ConnectException e -> "connection refused";
            case java.net.UnknownHostException e -> "unknown host";
            case java.net.http.HttpTimeoutException e -> "timed out";
            case java.nio.channels.ClosedChannelException e -> "the channel is closed";
            case java.io.EOFException e -> "unexpected end of input";
            case InterruptedException e -> "interrupted";
            default -> t.getCause() != null && t.getCause() != t ? describe(t.getCause())
                    : t.getClass().getSimpleName().replaceAll("(Exception|Error)$", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
        };
    }
}
