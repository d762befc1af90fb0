package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.HashSet;
import java.util.Set;

/**
 * No-repeat n-gram: ban every token that would complete an n-gram already in the history (Paulus et al., 2018,
 * "A Deep Reinforced Model for Abstractive Summarization"; Hugging Face's {@code no_repeat_ngram_size}).
 *
 * @param n the n-gram length ({@code >= 1})
 */
public record NoRepeatNgramSampler(int n) implements Sampler {
    /** Checks {@code n}. */
    public NoRepeatNgramSampler {
        if (n < 1) {
            throw new MetagenException("no-repeat-ngram size must be >= 1, got " + n);
        }
    }

    @Override
    public void apply(Candidates c) {
        int[] h = c.history();
        int len = h.length;
        if (len + 1 < n) {
            return;
        }
        Set<Integer> banned = new HashSet<>();
        // every earlier n-gram h[s..s+n-1] whose first n-1 tokens equal the last n-1 tokens bans its last token
        for (int s = 0; s + n <= len; s++) {
            boolean match = true;
            for (int k = 0; k < n - 1 && match; k++) {
                match = h[s + k] == h[len - (n - 1) + k];
            }
            if (match) {
                banned.add(h[s + n - 1]);
            }
        }
        for (int i = 0; i < c.size(); i++) {
            if (banned.contains(c.id(i))) {
                c.setLogit(i, Float.NEGATIVE_INFINITY);
            }
        }
    }
}
