package dev.metagen.core;

/**
 * The input of a generator: plain text (chat messages are rendered to text by a chat template first).
 *
 * @param text the prompt text (never null)
 *
 * <p>Example:
 * <pre>{@code
 * Generation g = generator.generate(Prompt.of("Q: What is 2 + 2?\nA:"), GenerationParams.greedy(8));
 * }</pre>
 */
public record Prompt(String text) {
    /** Checks that the text is present. */
    public Prompt {
        java.util.Objects.requireNonNull(text, "prompt text");
    }

    /**
     * A prompt of {@code text}.
     *
     * @param text the prompt text
     * @return the prompt
     */
    public static Prompt of(String text) {
        return new Prompt(text);
    }
}
