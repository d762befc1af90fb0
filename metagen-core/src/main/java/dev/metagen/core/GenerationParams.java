package dev.metagen.core;

import java.util.List;
import java.util.Objects;

/**
 * Parameters of one generation call. {@code temperature == 0} means greedy (argmax, lowest id on ties);
 * {@code topK <= 0} and {@code topP >= 1} disable those filters.
 */
public record GenerationParams(int maxTokens, double temperature, int topK, double topP, long seed,
                               boolean addSpecial, List<String> stop) {
    public GenerationParams {
        stop = List.copyOf(stop);
        if (maxTokens < 0) {
            throw new MetagenException("max tokens must be >= 0, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new MetagenException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new MetagenException("top-p must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new MetagenException("top-k must be >= 0 (0 disables it), got " + topK);
        }
    }

    public static GenerationParams greedy(int maxTokens) {
        return new GenerationParams(maxTokens, 0, 0, 1.0, 0, true, List.of());
    }

    public GenerationParams withMaxTokens(int n) {
        return new GenerationParams(n, temperature, topK, topP, seed, addSpecial, stop);
    }

    public GenerationParams withSampling(double temperature, int topK, double topP, long seed) {
        return new GenerationParams(maxTokens, temperature, topK, topP, seed, addSpecial, stop);
    }

    public GenerationParams withStop(List<String> stop) {
        return new GenerationParams(maxTokens, temperature, topK, topP, seed, addSpecial, Objects.requireNonNull(stop));
    }
}
