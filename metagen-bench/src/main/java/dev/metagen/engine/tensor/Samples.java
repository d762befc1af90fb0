package dev.metagen.engine.tensor;

import java.util.SplittableRandom;

/** Seeded N(0, 1) inputs for the measurements, the same draws as the engine's round-trip tests use. */
final class Samples {
    private Samples() {
    }

    static float[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller: N(0, 1)
            x[i] = (float) (Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
        }
        return x;
    }
}
