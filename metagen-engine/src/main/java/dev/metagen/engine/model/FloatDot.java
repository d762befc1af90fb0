package dev.metagen.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Dot product of two float32 arrays with the Vector API (used on dequantized weight rows during prefill). */
final class FloatDot {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private FloatDot() {}

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
            }
            // lanes added in lane order, not reduceLanes(ADD): its order differs between the interpreted Vector
            // API and C2's intrinsic, so results would change in the last bits once the JIT compiled this method
            float[] lanes = new float[S.length()];
            acc.intoArray(lanes, 0);
            for (float f : lanes) {
                sum += f;
            }
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }
}
