package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.Map;

/**
 * Logit bias and token bans (OpenAI API {@code logit_bias}; llama.cpp {@code --logit-bias}): adds a bias to
 * the listed tokens' logits; a bias of {@code -infinity} bans the token.
 *
 * @param bias token id to bias ({@code -infinity}: banned)
 */
public record LogitBiasSampler(Map<Integer, Float> bias) implements Sampler {
    /** Checks and copies the biases. */
    public LogitBiasSampler {
        bias = Map.copyOf(bias);
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            if (e.getKey() < 0) {
                throw new MetagenException("logit bias token id must be >= 0, got " + e.getKey());
            }
            if (Float.isNaN(e.getValue()) || e.getValue() == Float.POSITIVE_INFINITY) {
                throw new MetagenException("logit bias for token " + e.getKey() + " must be a number or -inf, got " + e.getValue());
            }
        }
    }

    /**
     * Fails when a biased token id is outside a vocabulary of {@code vocabSize} tokens.
     *
     * @param vocabSize the vocabulary size
     */
    public void checkVocabulary(int vocabSize) {
        for (int id : bias.keySet()) {
            if (id >= vocabSize) {
                throw new MetagenException("logit bias token id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
    }

    @Override
    public void apply(Candidates c) {
        for (int i = 0; i < c.size(); i++) {
            Float b = bias.get(c.id(i));
            if (b != null) {
                c.setLogit(i, c.logit(i) + b);
            }
        }
    }
}
