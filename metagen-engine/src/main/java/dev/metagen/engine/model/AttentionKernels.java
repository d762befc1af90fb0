package dev.metagen.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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

    /**
     * Scratch for {@link #dot} and {@link #scores}: one per thread of the caller (lanes are spilled there to be
     * summed; a full block of scores parks four vectors of partial sums there).
     */
    static float[] scratch() {
        return new float[4 * L];
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
     * One block of the online softmax for head {@code h}, given its scores {@code p[0 .. BLOCK)} ({@link #scores}):
     * if the block's maximum exceeds the running {@code max[h]}, the running denominator {@code sum[h]} and (in
     * {@link #weightedSum}) the accumulated values are rescaled to it; then p becomes exp(p - max), its entries are
     * added to {@code sum[h]} in order, and the p-weighted value rows to {@code acc[accOff .. + n)}.
     */
    static void softmaxBlock(float[] p, int count, float[] max, float[] sum, int h, float[] acc, int accOff,
                             float[] v, int vOff, int vStride, int n) {
        float blockMax = p[0];
        for (int j = 1; j < count; j++) {
            blockMax = Math.max(blockMax, p[j]);
        }
        float correction = 1f;
        if (blockMax > max[h]) {
            correction = (float) Math.exp(max[h] - blockMax);
            sum[h] *= correction;
            max[h] = blockMax;
        }
        expShifted(p, max[h]);
        float total = sum[h];
        for (int j = 0; j < count; j++) {
            total += p[j];
        }
        sum[h] = total;
        weightedSum(acc, accOff, correction, p, count, v, vOff, vStride, n);
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
            // four slices at once: four independent chains of fused multiply-adds instead of one that waits for
            // each add's latency (the same operations per element, in the same order)
            for (; i + 4 * L <= n; i += 4 * L) {
                FloatVector a0 = FloatVector.fromArray(S, acc, accOff + i).mul(sv);
                FloatVector a1 = FloatVector.fromArray(S, acc, accOff + i + L).mul(sv);
                FloatVector a2 = FloatVector.fromArray(S, acc, accOff + i + 2 * L).mul(sv);
                FloatVector a3 = FloatVector.fromArray(S, acc, accOff + i + 3 * L).mul(sv);
                for (int j = 0; j < count; j++) {
                    FloatVector pj = FloatVector.broadcast(S, p[j]);
                    int o = vOff + j * vStride + i;
                    a0 = pj.fma(FloatVector.fromArray(S, v, o), a0);
                    a1 = pj.fma(FloatVector.fromArray(S, v, o + L), a1);
                    a2 = pj.fma(FloatVector.fromArray(S, v, o + 2 * L), a2);
                    a3 = pj.fma(FloatVector.fromArray(S, v, o + 3 * L), a3);
                }
                a0.intoArray(acc, accOff + i);
                a1.intoArray(acc, accOff + i + L);
                a2.intoArray(acc, accOff + i + 2 * L);
                a3.intoArray(acc, accOff + i + 3 * L);
            }
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
        if (L == 16 && count == 16 && n >= L) {
            scores16(q, qOff, keys, kOff, kStride, n, scale, out, scratch);
            return;
        }
        for (int j = 0; j < count; j++) {
            out[j] = dot(q, qOff, keys, kOff + j * kStride, n, scratch) * scale;
        }
        for (int j = count; j < BLOCK; j++) {
            out[j] = Float.NEGATIVE_INFINITY;
        }
    }

    /**
     * {@link #scores} of a full block of 16 keys with 16 lanes: each key's lanes as {@link #dot} multiplies and adds
     * them, then the 16 vectors summed together, two at a time, by the same pairwise tree (lane i plus lane i + 8,
     * then + 4, + 2, + 1) with blends and lane swaps: the same additions as 16 calls of dot, so the same scores bit
     * for bit, for about 70 vector operations per block instead of some 60 scalar loads, adds and stores per key.
     */
    private static void scores16(float[] q, int qOff, float[] keys, int kOff, int kStride, int n, float scale,
                                 float[] out, float[] part) {
        // a loop over four groups of four keys, the first two levels in registers and the partial sums parked in part:
        // written out for all 16 keys the method exceeds C2's inlining node budget, and vectors returned by calls
        // left out-of-line are boxed (several times slower than the scalar sums)
        for (int g = 0; g < 16; g += 4) {
            int k = kOff + g * kStride;
            FloatVector a = pair(8, lanes(q, qOff, keys, k, n), lanes(q, qOff, keys, k + kStride, n));
            FloatVector b = pair(8, lanes(q, qOff, keys, k + 2 * kStride, n),
                    lanes(q, qOff, keys, k + 3 * kStride, n));
            pair(4, a, b).intoArray(part, 4 * g);
        }
        FloatVector s = pair(1, pair(2, FloatVector.fromArray(S, part, 0), FloatVector.fromArray(S, part, 16)),
                pair(2, FloatVector.fromArray(S, part, 32), FloatVector.fromArray(S, part, 48))).rearrange(KEY_ORDER);
        int tail = n / L * L;
        if (tail == n) {
            s.mul(scale).intoArray(out, 0);
            return;
        }
        s.intoArray(out, 0);
        for (int j = 0; j < 16; j++) { // the scalar tail after the tree, as dot adds it
            float v = out[j];
            for (int i = tail; i < n; i++) {
                v += q[qOff + i] * keys[kOff + j * kStride + i];
            }
            out[j] = v * scale;
        }
    }

    /** The lanes of {@link #dot} before they are summed: {@code a[i] * b[i]}, then fused adds, L elements apart. */
    private static FloatVector lanes(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.fromArray(S, a, aOff).mul(FloatVector.fromArray(S, b, bOff));
        for (int i = L; i + L <= n; i += L) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        return acc;
    }

    /**
     * One level of the tree for two vectors whose keys hold runs of {@code 2h} lanes: each run's lane i is added to
     * its lane i + h. Lanes whose index has bit h set come from b, the others from a; the other input, with lanes
     * i and i ^ h swapped, supplies the partners, so each result run of h lanes is one key's sums.
     */
    private static FloatVector pair(int h, FloatVector a, FloatVector b) {
        // constant fields, not arrays, so that C2 folds each mask and shuffle into the compiled code
        VectorMask<Float> fromB = h == 8 ? BIT8 : h == 4 ? BIT4 : h == 2 ? BIT2 : BIT1;
        VectorShuffle<Float> swap = h == 8 ? SWAP8 : h == 4 ? SWAP4 : h == 2 ? SWAP2 : SWAP1;
        return a.blend(b, fromB).add(b.blend(a, fromB).rearrange(swap));
    }

    /** Per half-run h: the lanes with bit h set, and the shuffle of lane i with lane i ^ h. */
    private static final VectorMask<Float> BIT1 = bit(1), BIT2 = bit(2), BIT4 = bit(4), BIT8 = bit(8);
    private static final VectorShuffle<Float> SWAP1 = swap(1), SWAP2 = swap(2), SWAP4 = swap(4), SWAP8 = swap(8);
    /** Takes the tree's result lanes to key order (the blends leave key k in a fixed other lane). */
    private static final VectorShuffle<Float> KEY_ORDER = L == 16 ? VectorShuffle.fromArray(S, keyOrder(), 0) : null;

    private static VectorMask<Float> bit(int h) {
        if (L != 16) {
            return null;
        }
        long m = 0;
        for (int i = 0; i < 16; i++) {
            if ((i & h) != 0) {
                m |= 1L << i;
            }
        }
        return VectorMask.fromLong(S, m);
    }

    private static VectorShuffle<Float> swap(int h) {
        return L == 16 ? VectorShuffle.fromOp(S, i -> i ^ h) : null;
    }

    /** The lane of each key after {@link #scores16}'s tree, found by running the tree on key labels. */
    private static int[] keyOrder() {
        int[][] v = new int[16][16];
        for (int k = 0; k < 16; k++) {
            java.util.Arrays.fill(v[k], k);
        }
        int[][] t = new int[8][];
        for (int i = 0; i < 8; i++) {
            t[i] = pairLabels(8, v[2 * i], v[2 * i + 1]);
        }
        int[][] u = new int[4][];
        for (int i = 0; i < 4; i++) {
            u[i] = pairLabels(4, t[2 * i], t[2 * i + 1]);
        }
        int[] s = pairLabels(1, pairLabels(2, u[0], u[1]), pairLabels(2, u[2], u[3]));
        int[] order = new int[16];
        for (int lane = 0; lane < 16; lane++) {
            order[s[lane]] = lane;
        }
        return order;
    }

    private static int[] pairLabels(int h, int[] a, int[] b) {
        int[] r = new int[16];
        for (int i = 0; i < 16; i++) {
            int x = (i & h) != 0 ? b[i] : a[i];
            int j = i ^ h;
            int y = (j & h) != 0 ? a[j] : b[j];
            if (x != y) {
                throw new IllegalStateException("attention tree pairs lanes of keys " + x + " and " + y);
            }
            r[i] = x;
        }
        return r;
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

    /**
     * GeGLU's gating, {@code gate[i] = gelu(gate[i]) * up[i]} for {@code i in [from, to)} (Shazeer 2020) with the
     * tanh approximation of GELU (Hendrycks &amp; Gimpel 2016), computed as llama.cpp's CPU backend computes it
     * ({@code ggml_vec_geglu_f32} with {@code GGML_GELU_FP16}): the input rounded to half precision, looked up in a
     * table of half-precision results, 0 below -10 and the identity above 10. The half-precision rounding moves
     * GELU by up to about 1e-3 relative; computing it exactly would put every Gemma model that much off llama.cpp.
     */
    static void geglu(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float x = gate[i];
            float g;
            if (x <= -10f) {
                g = 0f;
            } else if (x >= 10f) {
                g = x;
            } else {
                g = GELU_F16[Float.floatToFloat16(x) & 0xFFFF];
            }
            gate[i] = g * up[i];
        }
    }

    /** ggml's {@code ggml_table_gelu_f16}: for each half-precision input, its tanh GELU rounded to half precision. */
    private static final float[] GELU_F16 = geluTable();

    private static float[] geluTable() {
        float[] t = new float[1 << 16];
        float sqrt2OverPi = 0.79788456080286535587989211986876f;
        float coefA = 0.044715f;
        for (int h = 0; h < t.length; h++) {
            float x = Float.float16ToFloat((short) h);
            float y = 0.5f * x * (1.0f + (float) Math.tanh(sqrt2OverPi * x * (1.0f + coefA * x * x)));
            t[h] = Float.float16ToFloat(Float.floatToFloat16(y));
        }
        return t;
    }
}
