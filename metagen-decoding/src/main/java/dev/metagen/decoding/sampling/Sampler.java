package dev.metagen.decoding.sampling;

/**
 * One sampling adapter of a chain (llama.cpp's sampler chain, Hugging Face's {@code LogitsProcessorList}):
 * it rescales, masks or truncates the candidate set in place. Stateful adapters (mirostat, adapters that run a
 * second model) also see the prompt once and every chosen token.
 */
@FunctionalInterface
public interface Sampler {
    /**
     * Transforms the candidates in place: changes logits, drops or reorders candidates.
     *
     * @param candidates the candidate set of this step
     */
    void apply(Candidates candidates);

    /**
     * Called once with the prompt token ids before the first {@link #apply}.
     *
     * @param promptIds the prompt's token ids
     */
    default void begin(int[] promptIds) {}

    /**
     * Called with the chosen token and the final candidate set it was drawn from.
     *
     * @param token the chosen token
     * @param chosenFrom the candidates it was drawn from
     */
    default void accept(int token, Candidates chosenFrom) {}

    /**
     * What this adapter spent of its own so far: forwards of the model contexts it follows (guidance, contrastive
     * decoding, experts) or calls of an external scorer; the decode loop adds it to the generation's cost.
     *
     * @return the cost (zero for plain samplers)
     */
    default dev.metagen.core.Cost cost() {
        return dev.metagen.core.Cost.ZERO;
    }
}
