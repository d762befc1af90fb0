package dev.metagen.engine.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
    void scaleAddIsExactlyOneRoundedMultiplyAndOneFusedMultiplyAddPerElement() {
        SplittableRandom r = new SplittableRandom(4);
        float[] v = random(r, 300);
        for (int n = 1; n <= 200; n++) {
            float[] acc = random(r, n + 5);
            float[] expected = acc.clone();
            float scale = (float) r.nextDouble();
            float p = (float) r.nextDouble();
            int vOff = n % 13;
            for (int i = 0; i < n; i++) {
                expected[3 + i] = Math.fma(p, v[vOff + i], expected[3 + i] * scale);
            }
            AttentionKernels.scaleAdd(acc, 3, scale, p, v, vOff, n);
            for (int i = 0; i < acc.length; i++) {
                assertEquals(expected[i], acc[i], 0f, "n = " + n + ", element " + i);
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
}
