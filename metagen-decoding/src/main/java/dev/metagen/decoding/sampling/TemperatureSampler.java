package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Temperature scaling: logits divided by {@code t} (Ackley et al., 1985); {@code t = 0} keeps only the argmax
 * (lowest id on ties), as llama.cpp's {@code temp} sampler does.
 *
 * @param temperature the temperature, {@code >= 0}
 */
public record TemperatureSampler(double temperature) implements Sampler {
    /** Checks the temperature. */
    public TemperatureSampler {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new MetagenException("temperature must be a finite number >= 0 (0 means greedy), got " + temperature);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (temperature == 0) {
            int best = c.argmax();
            int bestId = c.id(best);
            c.retain(i -> c.id(i) == bestId);
            return;
        }
        if (temperature == 1.0) {
            return;
        }
        for (int i = 0; i < c.size(); i++) {
            c.setLogit(i, (float) (c.logit(i) / temperature));
        }
    }
}
