package dev.metagen.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of attention over cached keys and values (the q.k scores and the p-weighted sum of value rows of
 * an online softmax, Milakov &amp; Gimelshein 2018) with jdk.incubator.vector. Arguments are (array, offset, length)
 * so the kernels do not depend on how the KV cache stores its rows. Every result is summed in a fixed order (lanes,
 * then a fixed pairwise tree over the lanes, then the scalar tail), so it does not change once the JIT compiles
 * the code or with the thread that runs it.
 */
final class AttentionKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private AttentionKernels() {}

    /** Scratch for {@link #dot}: one per thread of the caller (lanes are spilled there to be summed). */
    static float[] scratch() {
        return new float[L];
    }

    /** {@code sum_i a[aOff + i] * b[bOff + i]} over {@code n} elements. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n, float[] scratch) {
        int i = 0;
        float s = 0;
        if (n >= L) {
            FloatVector acc = FloatVector.fromArray(S, a, aOff).mul(FloatVector.fromArray(S, b, bOff));
            for (i = L; i + L <= n; i += L) {
                acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
            }
            acc.intoArray(scratch, 0);
            // pairwise over the lanes: independent adds, in the same order every time
            for (int w = L / 2; w >= 1; w /= 2) {
                for (int j = 0; j < w; j++) {
                    scratch[j] += scratch[j + w];
                }
            }
            s = scratch[0];
        }
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    /** {@code acc[accOff + i] = acc[accOff + i] * scale + p * v[vOff + i]} over {@code n} elements. */
    static void scaleAdd(float[] acc, int accOff, float scale, float p, float[] v, int vOff, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector sv = FloatVector.broadcast(S, scale);
            FloatVector pv = FloatVector.broadcast(S, p);
            for (; i + L <= n; i += L) {
                FloatVector a = FloatVector.fromArray(S, acc, accOff + i).mul(sv);
                pv.fma(FloatVector.fromArray(S, v, vOff + i), a).intoArray(acc, accOff + i);
            }
        }
        for (; i < n; i++) {
            acc[accOff + i] = Math.fma(p, v[vOff + i], acc[accOff + i] * scale);
        }
    }
}
