package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.Set;

/**
 * Minimum length: the end-of-generation and stop tokens are banned until {@code min} tokens have been generated
 * (Hugging Face's {@code MinNewTokensLengthLogitsProcessor}; vLLM's {@code min_tokens}).
 *
 * @param min the minimum number of generated tokens
 * @param endTokens the tokens banned until then
 */
public record MinTokensSampler(int min, Set<Integer> endTokens) implements Sampler {
    /** Checks {@code min} and copies the end tokens. */
    public MinTokensSampler {
        endTokens = Set.copyOf(endTokens);
        if (min < 0) {
            throw new MetagenException("min-tokens must be >= 0, got " + min);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (c.generated() >= min) {
            return;
        }
        for (int i = 0; i < c.size(); i++) {
            if (endTokens.contains(c.id(i))) {
                c.setLogit(i, Float.NEGATIVE_INFINITY);
            }
        }
    }
}
