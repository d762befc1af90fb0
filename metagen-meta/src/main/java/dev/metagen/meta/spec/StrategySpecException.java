package dev.metagen.meta.spec;

import dev.metagen.core.MetagenException;

/** A strategy spec that is malformed or names an unknown component; the message starts with the JSON path. */
public final class StrategySpecException extends MetagenException {
    /**
     * An error at {@code path}.
     *
     * @param path the JSON path, e.g. {@code $.inner.n}
     * @param message what is wrong
     */
    public StrategySpecException(String path, String message) {
        super(path + ": " + message);
    }
}
