package dev.metagen.core;

import java.util.List;

/**
 * A token-level language model: the local engine, or anything that can score next tokens.
 *
 * <p>Example:
 * <pre>{@code
 * Tokenizer tok = model.tokenizer();
 * try (ModelState state = model.newState()) {
 *     Logits next = model.forward(state, tok.encode("Once upon a time", true));
 *     int token = next.argmax();                  // the greedy choice
 *     String piece = tok.decode(new int[] {token});
 * }
 * }</pre>
 */
public interface LanguageModel extends AutoCloseable {

    /**
     * The model's tokenizer.
     *
     * @return the tokenizer
     */
    Tokenizer tokenizer();

    /**
     * What the model is.
     *
     * @return its description
     */
    ModelInfo info();

    /**
     * A new, empty sequence.
     *
     * @return an empty state
     */
    ModelState newState();

    /**
     * One batched step: state {@code i} consumes {@code tokens.get(i)} (one or more tokens) and the
     * logits at its last new position are returned, in the same order.
     *
     * @param states the sequences to extend
     * @param tokens the tokens each one consumes
     * @return the next-token logits of each state
     */
    List<Logits> forward(List<ModelState> states, List<int[]> tokens);

    /**
     * Convenience: one state, one or more tokens.
     *
     * @param state the sequence to extend
     * @param tokens the tokens it consumes
     * @return the next-token logits
     */
    default Logits forward(ModelState state, int... tokens) {
        return forward(List.of(state), List.of(tokens)).getFirst();
    }

    /**
     * One state consumes {@code tokens} and the logits at EVERY new position are returned, in order: element
     * {@code i} is the next-token distribution after {@code tokens[i]} (speculative decoding verifies a whole
     * draft with it). This default runs one forward per token; engines that compute all positions of a chunk
     * anyway override it with a single pass.
     *
     * @param state the sequence to extend
     * @param tokens the tokens it consumes
     * @return one logits per token
     */
    default List<Logits> forwardAll(ModelState state, int... tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new MetagenException("forwardAll: no tokens given");
        }
        List<Logits> out = new java.util.ArrayList<>(tokens.length);
        for (int t : tokens) {
            out.add(forward(state, t));
        }
        return out;
    }

    /**
     * Optional capability (contrastive search): the last layer's hidden state, after the final norm, at the last
     * position {@code state} consumed. Models that do not expose hidden states throw.
     *
     * @param state the sequence
     * @return the hidden state
     */
    default float[] lastHiddenState(ModelState state) {
        throw new MetagenException(info().name() + " does not expose hidden states (needed by contrastive search)");
    }

    /**
     * Optional capability (reward models, rerankers): the model's classification or score head, present when the
     * model has one.
     *
     * @return the head, or empty for a model without one
     */
    default java.util.Optional<ScoreHead> scoreHead() {
        return java.util.Optional.empty();
    }

    /**
     * The model's own generation defaults (llama.cpp's {@code general.sampling.*} metadata, which its converter writes
     * from {@code generation_config.json}), named as {@link GenerationFields} names them, e.g.
     * {@code {"temperature": 0.6, "top_p": 0.9}}. Front ends apply them to every field the user did not set
     * ({@link GenerationFields#applyModelDefaults}); a library caller applies them the same way where it wants them.
     *
     * @return the defaults; empty for a model without any
     */
    default java.util.Map<String, Object> generationDefaults() {
        return java.util.Map.of();
    }

    @Override
    void close();
}
