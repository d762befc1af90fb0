package dev.metagen.meta;

import dev.metagen.core.GenerationParams;

/** Seeds of inner calls: a SplitMix64 mix (Steele et al., 2014) of the caller's seed, so samples differ yet reproduce. */
public final class Seeds {
    private Seeds() {
    }

    /**
     * The seed of inner call {@code i} of a caller seeded {@code base}.
     *
     * @param base the caller's seed
     * @param i the call's index
     * @return the derived seed
     */
    public static long derive(long base, long i) {
        long z = base + 0x9E3779B97F4A7C15L * (i + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * The same settings with the seed of inner call {@code i}.
     *
     * @param p the caller's parameters
     * @param i the call's index
     * @return the parameters of call {@code i}
     */
    public static GenerationParams params(GenerationParams p, long i) {
        return p.withSampling(p.temperature(), p.topK(), p.topP(), derive(p.seed(), i));
    }
}
