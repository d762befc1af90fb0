package dev.metagen.core;

/**
 * Maps a prompt to a sample from a distribution over outputs; decoding algorithms and meta-generators alike.
 *
 * <p>Example:
 * <pre>{@code
 * Generator echo = (prompt, params) -> new Generation(prompt.text(), new int[0], new double[0],
 *         FinishReason.STOP, Cost.ZERO, Map.of());
 * Generation g = echo.generate(Prompt.of("hello"), GenerationParams.greedy(16));
 * }</pre>
 */
@FunctionalInterface
public interface Generator {
    /**
     * Generates one output for {@code prompt}.
     *
     * @param prompt the input
     * @param params how to generate (a setting the generator cannot honour is an error, never dropped)
     * @return the output with its cost
     */
    Generation generate(Prompt prompt, GenerationParams params);

    /**
     * The most model calls ({@link Cost#modelCalls()}: batched forwards of a local model, requests to a remote one)
     * that one {@link #generate} with these arguments can make. Budgets reserve this much before a call starts, so
     * a call budget holds under concurrency. The default, {@code params.maxTokens()}, fits every decoder that
     * prefills the prompt in one forward and makes at most one forward per generated token after the first
     * (sampling, greedy, constrained, beam search); generators that make more override it.
     *
     * @param prompt the input
     * @param params the call's parameters
     * @return an upper bound on {@link Cost#modelCalls()}
     */
    default long maxModelCalls(Prompt prompt, GenerationParams params) {
        return params.maxTokens();
    }

    /**
     * The most generated tokens ({@link Cost#generatedTokens()}) that one {@link #generate} with these arguments
     * can report; token budgets reserve this much. The default is {@code params.maxTokens()}; a search that reports
     * several sequences (beam search with several returned sequences) overrides it.
     *
     * @param prompt the input
     * @param params the call's parameters
     * @return an upper bound on {@link Cost#generatedTokens()}
     */
    default long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
        return params.maxTokens();
    }
}
