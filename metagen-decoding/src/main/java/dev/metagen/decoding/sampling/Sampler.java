package dev.metagen.decoding.sampling;

/**
 * One sampling adapter of a chain (llama.cpp's sampler chain, Hugging Face's {@code LogitsProcessorList}):
 * it rescales, masks or truncates the candidate set in place. Stateful adapters (mirostat, adapters that run a
 * second model) also see the prompt once and every chosen token.
 */
@FunctionalInterface
public interface Sampler {
    void apply(Candidates candidates);

    /** Called once with the prompt token ids before the first {@link #apply}. */
    default void begin(int[] promptIds) {}

    /** Called with the chosen token and the final candidate set it was drawn from. */
    default void accept(int token, Candidates chosenFrom) {}
}
