package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Entropy-based dynamic temperature (llama.cpp {@code dynatemp}, PR #5006; cf. Zhang et al., 2024, "EDT"):
 * {@code T = max(0, t-r) + 2r * (H / log n)^exponent}, where H is the entropy of the current candidates.
 *
 * @param temperature the base temperature t
 * @param range the range r
 * @param exponent the entropy exponent
 */
public record DynamicTemperatureSampler(double temperature, double range, double exponent) implements Sampler {
    /** Checks the settings. */
    public DynamicTemperatureSampler {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new MetagenException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(range >= 0) || Double.isInfinite(range)) {
            throw new MetagenException("dynatemp range must be a finite number >= 0, got " + range);
        }
        if (!(exponent > 0) || Double.isInfinite(exponent)) {
            throw new MetagenException("dynatemp exponent must be a finite number > 0, got " + exponent);
        }
    }

    @Override
    public void apply(Candidates c) {
        if (c.size() <= 1) {
            return;
        }
        double min = Math.max(0, temperature - range);
        double max = temperature + range;
        double normalized = c.entropy() / Math.log(c.size());
        double t = min + (max - min) * Math.pow(normalized, exponent);
        new TemperatureSampler(t).apply(c);
    }
}
