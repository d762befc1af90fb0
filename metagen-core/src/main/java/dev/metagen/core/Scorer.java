package dev.metagen.core;

/**
 * Scores a candidate for a prompt: reward model, process reward model, LM judge or verifier.
 *
 * <p>Example:
 * <pre>{@code
 * Scorer shorter = (prompt, c) -> -c.text().length();
 * double score = shorter.score(Prompt.of("Say hi"), candidate);
 * }</pre>
 */
@FunctionalInterface
public interface Scorer {
    /**
     * Scores {@code candidate} as an answer to {@code prompt}; higher is better.
     *
     * @param prompt the prompt
     * @param candidate the output to score
     * @return the score
     */
    double score(Prompt prompt, Generation candidate);
}
