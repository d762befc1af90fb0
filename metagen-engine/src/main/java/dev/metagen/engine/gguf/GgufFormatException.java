package dev.metagen.engine.gguf;

import dev.metagen.core.MetagenException;

/** A GGUF file that cannot be read: the message names the file, the problem and where it is. */
public final class GgufFormatException extends MetagenException {
    public GgufFormatException(String message) {
        super(message);
    }
}
