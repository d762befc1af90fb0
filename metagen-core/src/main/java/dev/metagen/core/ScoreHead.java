package dev.metagen.core;

import java.util.List;

/**
 * A classification or reward head on a model's final hidden states (llama.cpp's {@code cls} / {@code cls.output}
 * tensors, as rerankers and reward models carry them): a score vector at every position, and the sequence's pooled
 * score. Each call runs its tokens as a fresh sequence; implementations are thread-safe.
 */
public interface ScoreHead {

    /**
     * The names of the head's outputs, one per score ({@code classifier.output_labels}; generated when absent).
     *
     * @return the labels, in the order of each score vector
     */
    List<String> labels();

    /**
     * Whether the outputs are already a probability distribution (a head that ends in a softmax).
     *
     * @return true when the scores of one position sum to 1
     */
    default boolean probabilities() {
        return false;
    }

    /**
     * Scores after each token: {@code out[i]} is the head's output on the final hidden state of {@code tokens[i]}.
     *
     * @param tokens the sequence, run as a fresh one
     * @return one score vector per token
     */
    float[][] scorePositions(int[] tokens);

    /**
     * The sequence-level score, pooled as llama.cpp pools the model's rank output (the last token's scores).
     *
     * @param tokens the sequence, run as a fresh one
     * @return the pooled score vector
     */
    default float[] score(int[] tokens) {
        float[][] all = scorePositions(tokens);
        return all[all.length - 1];
    }
}
