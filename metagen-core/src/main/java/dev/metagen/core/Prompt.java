package dev.metagen.core;

/** The input of a generator: plain text (chat messages are rendered to text by a chat template first). */
public record Prompt(String text) {
    public Prompt {
        java.util.Objects.requireNonNull(text, "prompt text");
    }

    public static Prompt of(String text) {
        return new Prompt(text);
    }
}
