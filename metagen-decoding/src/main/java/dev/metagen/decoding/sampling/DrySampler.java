package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * DRY, "don't repeat yourself" (p-e-w, text-generation-webui PR #5677): a token that would extend a repeat of
 * length {@code n >= allowedLength} of an earlier part of the history gets {@code multiplier * base^(n -
 * allowedLength)} subtracted from its logit. Repeats do not extend across sequence-breaker tokens.
 *
 * @param lastN    the window searched for repeats: -1 the whole history
 * @param breakers token ids that end a repeat (e.g. newline, quote)
 * @param multiplier the penalty multiplier
 * @param base the exponential base
 * @param allowedLength repeats shorter than this go free
 */
public record DrySampler(double multiplier, double base, int allowedLength, int lastN, Set<Integer> breakers)
        implements Sampler {
    /** Checks the settings and copies the breakers. */
    public DrySampler {
        breakers = Set.copyOf(breakers);
        if (!(multiplier >= 0) || Double.isInfinite(multiplier)) {
            throw new MetagenException("dry multiplier must be a finite number >= 0, got " + multiplier);
        }
        if (!(base >= 1) || Double.isInfinite(base)) {
            throw new MetagenException("dry base must be a finite number >= 1, got " + base);
        }
        if (allowedLength < 1) {
            throw new MetagenException("dry allowed length must be >= 1, got " + allowedLength);
        }
        if (lastN < -1) {
            throw new MetagenException("dry penalty window must be >= -1, got " + lastN);
        }
    }

    @Override
    public void apply(Candidates c) {
        int[] h = c.history();
        int start = lastN < 0 ? 0 : Math.max(0, h.length - lastN);
        int n = h.length;
        if (multiplier == 0 || n - start < 2 || breakers.contains(h[n - 1])) {
            return;
        }
        // for each earlier position j, the repeat length is how far the text before j matches the text before n
        Map<Integer, Integer> longest = new HashMap<>();
        for (int j = start + 1; j < n; j++) {
            int next = h[j];
            if (breakers.contains(next)) {
                continue;
            }
            int len = 0;
            while (j - 1 - len >= start && h[j - 1 - len] == h[n - 1 - len] && !breakers.contains(h[j - 1 - len])) {
                len++;
            }
            if (len > 0) {
                longest.merge(next, len, Math::max);
            }
        }
        for (int i = 0; i < c.size(); i++) {
            Integer len = longest.get(c.id(i));
            if (len != null && len >= allowedLength) {
                double penalty = multiplier * Math.pow(base, len - allowedLength);
                c.setLogit(i, (float) (c.logit(i) - penalty));
            }
        }
    }
}
