package dev.metagen.core;

/** A failure with a message meant for the user: one line naming what went wrong and where. */
public class MetagenException extends RuntimeException {
    public MetagenException(String message) {
        super(message);
    }

    public MetagenException(String message, Throwable cause) {
        super(message, cause);
    }
}
