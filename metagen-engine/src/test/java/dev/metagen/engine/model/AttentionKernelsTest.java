package dev.metagen.engine.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The attention inner loops against plain loops: every length 1..200 (vector body and tail), unaligned offsets. */
class AttentionKernelsTest {

    @Test
    void dotMatchesADoubleSumAndIsRepeatable() {
        SplittableRandom r = new SplittableRandom(3);
        float[] a = random(r, 300);
        float[] b = random(r, 300);
        float[] scratch = AttentionKernels.scratch();
        for (int n = 1; n <= 200; n++) {
            int aOff = n % 7;
            int bOff = 90 - n % 11;
            double ref = 0;
            double mag = 0;
            for (int i = 0; i < n; i++) {
                ref += (double) a[aOff + i] * b[bOff + i];
                mag += Math.abs((double) a[aOff + i] * b[bOff + i]);
            }
            float got = AttentionKernels.dot(a, aOff, b, bOff, n, scratch);
            assertEquals(ref, got, 1e-6 * mag + 1e-30, "n = " + n);
            assertEquals(got, AttentionKernels.dot(a, aOff, b, bOff, n, AttentionKernels.scratch()), 0f, "repeatable");
        }
    }

    @Test
    void weightedSumIsOneRoundedMultiplyThenFusedMultiplyAddsInPositionOrder() {
        SplittableRandom r = new SplittableRandom(4);
        float[] v = random(r, 40 * 210);
        for (int n = 1; n <= 200; n += (n < 40 ? 1 : 13)) {
            for (int count : new int[] {1, 5, 16}) {
                float[] acc = random(r, n + 5);
                float[] expected = acc.clone();
                float scale = (float) r.nextDouble();
                float[] p = random(r, count);
                int vOff = n % 13;
                int stride = n + 4;
                for (int i = 0; i < n; i++) {
                    float a = expected[3 + i] * scale;
                    for (int j = 0; j < count; j++) {
                        a = Math.fma(p[j], v[vOff + j * stride + i], a);
                    }
                    expected[3 + i] = a;
                }
                AttentionKernels.weightedSum(acc, 3, scale, p, count, v, vOff, stride, n);
                for (int i = 0; i < acc.length; i++) {
                    assertEquals(expected[i], acc[i], 0f, "n = " + n + ", " + count + " positions, element " + i);
                }
            }
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        return x;
    }

    @Test
    void expShiftedIsCloseToMathExpAndFlushesUnderflowToZero() {
        SplittableRandom r = new SplittableRandom(6);
        int b = AttentionKernels.BLOCK;
        double worst = 0;
        for (int round = 0; round < 2000; round++) {
            float max = (float) r.nextDouble(-20, 20);
            float[] s = new float[b];
            for (int j = 0; j < b; j++) {
                s[j] = max - (float) (round % 2 == 0 ? r.nextDouble(0, 1) : r.nextDouble(0, 100));
            }
            s[0] = max; // exp(0) = 1 exactly
            if (round % 3 == 0) {
                s[b - 1] = Float.NEGATIVE_INFINITY; // padding of a short block
            }
            float[] x = s.clone();
            AttentionKernels.expShifted(s, max);
            assertEquals(1f, s[0], 0f);
            for (int j = 0; j < b; j++) {
                // the argument is the float difference, as attend computes it; the kernel must exponentiate it well
                double ref = Math.exp((double) (x[j] - max));
                if (x[j] - max < -87.3f) {
                    assertEquals(0f, s[j], 0f, "underflow flushed");
                } else {
                    double rel = Math.abs(s[j] - ref) / ref;
                    worst = Math.max(worst, rel);
                    assertEquals(ref, s[j], 1e-6 * ref, "exp(" + (x[j] - max) + ")");
                }
            }
        }
        assertTrue(worst > 0 && worst < 1e-6, "worst relative error " + worst);
    }

    /**
     * Every block size, and head sizes below, at and past a vector, with and without a scalar tail: a full block takes
     * a transposed path of its own (scores16), which must equal the per-key dot products bit for bit.
     */
    @Test
    void scoresAreScaledDotsAndPadWithNegativeInfinity() {
        SplittableRandom r = new SplittableRandom(7);
        float[] q = random(r, 140);
        float[] keys = random(r, 140 * 20);
        float[] scratch = AttentionKernels.scratch();
        float[] out = new float[AttentionKernels.BLOCK];
        for (int n : new int[] {8, 16, 40, 64, 128}) {
            int stride = n + 10;
            for (int count = 1; count <= AttentionKernels.BLOCK; count++) {
                AttentionKernels.scores(q, 5, keys, 7, stride, count, n, 0.125f, out, scratch);
                for (int j = 0; j < AttentionKernels.BLOCK; j++) {
                    float expected = j < count ? AttentionKernels.dot(q, 5, keys, 7 + stride * j, n, scratch) * 0.125f
                            : Float.NEGATIVE_INFINITY;
                    assertEquals(expected, out[j], 0f, "head size " + n + ", count " + count + ", position " + j);
                }
            }
        }
    }

    @Test
    void swigluIsSiluTimesUpAndDoesNotDependOnTheRangeSplit() {
        SplittableRandom r = new SplittableRandom(9);
        int n = 1000; // not a multiple of any vector length: masked tails
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (r.nextDouble(-12, 12) * (i % 7 == 0 ? 10 : 1));
            up[i] = (float) r.nextDouble(-2, 2);
        }
        gate[0] = 0f;
        gate[1] = -0f;
        gate[2] = 200f; // exp(-200) underflows: silu = g
        gate[3] = -200f; // silu = -0
        gate[4] = Float.MAX_VALUE;
        up[4] = 0.5f; // the product stays finite
        float[] whole = gate.clone();
        AttentionKernels.swiglu(whole, up, 0, n);
        float[] split = gate.clone();
        AttentionKernels.swiglu(split, up, 0, 333);
        AttentionKernels.swiglu(split, up, 333, 334);
        AttentionKernels.swiglu(split, up, 334, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(whole[i]), Float.floatToIntBits(split[i]), "element " + i);
            double g = gate[i];
            double want = g / (1 + Math.exp(-g)) * up[i];
            assertEquals(want, whole[i], 1e-6 * Math.abs(want) + 1e-30, "silu(" + g + ") * " + up[i]);
        }
        assertEquals(200f * up[2], whole[2]);
        assertEquals(0f, whole[3], 0f);
        float[] one = {1f};
        AttentionKernels.swiglu(one, new float[] {1f}, 0, 1);
        assertEquals(1 / (1 + Math.exp(-1)), one[0], 1e-7);
    }
}
