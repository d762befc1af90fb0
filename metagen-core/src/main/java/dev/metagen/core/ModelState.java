package dev.metagen.core;

/**
 * One sequence's state inside a {@link LanguageModel} (its KV cache). States are advanced by
 * {@link LanguageModel#forward}; they can be forked (sharing the prefix) and rolled back.
 */
public interface ModelState extends AutoCloseable {

    /** Number of tokens this state has consumed. */
    int length();

    /** The tokens consumed so far. */
    int[] tokens();

    /** An independent state with the same prefix; later forwards of either do not affect the other. */
    ModelState fork();

    /** Rolls back to the first {@code length} tokens. */
    void truncate(int length);

    /** Releases the state's cache. */
    @Override
    void close();
}
