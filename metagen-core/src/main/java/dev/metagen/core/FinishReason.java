package dev.metagen.core;

/** Why a generation ended (names follow the OpenAI API). */
public enum FinishReason {
    /** An end-of-generation token or a stop string. */
    STOP,
    /** The token limit or the context length. */
    LENGTH,
    /** A budget of a meta-generator ran out. */
    BUDGET,
    /** The caller cancelled. */
    CANCELLED;

    /**
     * The name the OpenAI API uses, e.g. {@code stop}.
     *
     * @return the lower-case name
     */
    public String apiName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
