package dev.metagen.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
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
    /** Positions scored per block by {@link #scores} and exponentiated together by {@link #expShifted}. */
    static final int BLOCK = Math.max(16, L);
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Below this, exp underflows float's normal range; the result is flushed to 0. */
    private static final float EXP_MIN = -87.3f;

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

    /**
     * {@code acc[accOff + i] = acc[accOff + i] * scale + sum_j p[j] * v[vOff + j * vStride + i]} over {@code n}
     * elements and positions {@code j < count}: per element one rounded multiply, then one fused multiply-add per
     * position in order. Each L-wide slice of the accumulator stays in a register across the positions.
     */
    static void weightedSum(float[] acc, int accOff, float scale, float[] p, int count, float[] v, int vOff,
                            int vStride, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector sv = FloatVector.broadcast(S, scale);
            for (; i + L <= n; i += L) {
                FloatVector a = FloatVector.fromArray(S, acc, accOff + i).mul(sv);
                for (int j = 0; j < count; j++) {
                    a = FloatVector.broadcast(S, p[j]).fma(FloatVector.fromArray(S, v, vOff + j * vStride + i), a);
                }
                a.intoArray(acc, accOff + i);
            }
        }
        for (; i < n; i++) {
            float a = acc[accOff + i] * scale;
            for (int j = 0; j < count; j++) {
                a = Math.fma(p[j], v[vOff + j * vStride + i], a);
            }
            acc[accOff + i] = a;
        }
    }

    /**
     * {@code out[j] = scale * (q . keys[kOff + j * kStride ..])} for {@code j < count} (count at most {@link #BLOCK}),
     * each with {@link #dot}; {@code out[count .. BLOCK)} are set to negative infinity (they exponentiate to 0).
     */
    static void scores(float[] q, int qOff, float[] keys, int kOff, int kStride, int count, int n, float scale,
                       float[] out, float[] scratch) {
        for (int j = 0; j < count; j++) {
            out[j] = dot(q, qOff, keys, kOff + j * kStride, n, scratch) * scale;
        }
        for (int j = count; j < BLOCK; j++) {
            out[j] = Float.NEGATIVE_INFINITY;
        }
    }

    /**
     * {@code s[j] = exp(s[j] - max)} for the {@link #BLOCK} entries of {@code s}, every entry at most {@code max}:
     * Cody-Waite range reduction to r in [-ln2/2, ln2/2], a degree-6 Taylor polynomial (relative error about 2e-7) and
     * 2^n assembled in the exponent bits. Plain IEEE operations only (not the Vector API's EXP, whose intrinsic and
     * Java fallback differ in the last bits), so the result is the same compiled or interpreted.
     */
    static void expShifted(float[] s, float max) {
        for (int i = 0; i < BLOCK; i += L) {
            expNonPositive(FloatVector.fromArray(S, s, i).sub(max)).intoArray(s, i);
        }
    }

    /** {@code exp(x)} lane by lane for {@code x <= 0} (or -inf), as described at {@link #expShifted}. */
    static FloatVector expNonPositive(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, EXP_MIN); // also NaN-free: -inf lands here
        x = x.max(EXP_MIN);
        // n = round(x * log2(e)) for x <= 0, by truncating the non-negative -x * log2(e) + 0.5
        IntVector n = ((IntVector) x.mul(-LOG2E).add(0.5f).convert(VectorOperators.F2I, 0)).neg();
        FloatVector fn = (FloatVector) n.convert(VectorOperators.I2F, 0);
        FloatVector r = fn.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = fn.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, 1f / 720), FloatVector.broadcast(S, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        FloatVector twoN = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(twoN).blend(0f, under);
    }

    /**
     * SwiGLU's gating, {@code gate[i] = silu(gate[i]) * up[i]} for {@code i in [from, to)} (Shazeer 2020, "GLU
     * Variants Improve Transformer"), with silu(g) = g * sigmoid(g) and sigmoid from {@code e = exp(-|g|)}: 1/(1+e)
     * for g >= 0, e/(1+e) below, so nothing overflows. The tail runs the same lanes under a mask, so every element
     * gets the same arithmetic wherever it sits.
     */
    static void swiglu(float[] gate, float[] up, int from, int to) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int i = from; i < to; i += L) {
            VectorMask<Float> m = S.indexInRange(i, to);
            FloatVector g = FloatVector.fromArray(S, gate, i, m);
            FloatVector e = expNonPositive(g.abs().neg());
            FloatVector d = one.add(e);
            FloatVector sig = one.div(d).blend(e.div(d), g.compare(VectorOperators.LT, 0f));
            g.mul(sig).mul(FloatVector.fromArray(S, up, i, m)).intoArray(gate, i, m);
        }
    }
}
