package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.HashMap;
import java.util.Map;

/**
 * Repetition, frequency and presence penalties over the last {@code lastN} tokens (llama.cpp {@code penalties}):
 * a token seen {@code c > 0} times gets its logit divided by {@code repeat} (multiplied when negative; Keskar et
 * al., 2019, CTRL), then {@code c * frequency + presence} subtracted (OpenAI API definition).
 *
 * @param lastN the window: 0 disables, -1 is the whole history
 * @param repeat the repeat penalty (1: off)
 * @param frequency subtracted once per occurrence (0: off)
 * @param presence subtracted once for any occurrence (0: off)
 */
public record PenaltySampler(int lastN, double repeat, double frequency, double presence) implements Sampler {
    /** Checks the settings. */
    public PenaltySampler {
        if (lastN < -1) {
            throw new MetagenException("repeat-last-n must be >= -1 (-1 = whole history, 0 = off), got " + lastN);
        }
        if (!(repeat > 0) || Double.isInfinite(repeat)) {
            throw new MetagenException("repeat penalty must be a finite number > 0 (1 = off), got " + repeat);
        }
        if (!Double.isFinite(frequency) || !Double.isFinite(presence)) {
            throw new MetagenException("frequency and presence penalties must be finite numbers, got " + frequency + " and " + presence);
        }
    }

    @Override
    public void apply(Candidates c) {
        int[] h = c.history();
        int from = lastN < 0 ? 0 : Math.max(0, h.length - lastN);
        if (lastN == 0 || from >= h.length) {
            return;
        }
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = from; i < h.length; i++) {
            counts.merge(h[i], 1, Integer::sum);
        }
        for (int i = 0; i < c.size(); i++) {
            Integer count = counts.get(c.id(i));
            if (count == null) {
                continue;
            }
            float l = c.logit(i);
            l = l <= 0 ? (float) (l * repeat) : (float) (l / repeat);
            l -= (float) (count * frequency + presence);
            c.setLogit(i, l);
        }
    }
}
