package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Quantize then dequantize: RMSE on seeded Gaussian data within bounds matching ggml's known quality ordering,
 * exact recovery of values already on a type's grid, and the rounding rules of the reference quantizers.
 */
class RoundTripTest {
    private static final int N = 256 * 64;

    static float[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller: N(0, 1)
            x[i] = (float) (Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
        }
        return x;
    }

    static float[] roundTrip(GgmlType type, float[] x) {
        byte[] q = TypeKernels.of(type, "t").quantize(x, 0, x.length);
        assertEquals(type.byteSize(x.length), q.length, type + " quantized size");
        float[] y = new float[x.length];
        TypeKernels.of(type, "t").dequantize(MemorySegment.ofArray(q), 0, y, 0, x.length);
        return y;
    }

    static double rmse(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
        }
        return Math.sqrt(s / a.length);
    }

    /**
     * RMSE bounds on N(0, 1) data, so RMSE is relative to the standard deviation. Measured on this seed: F16 2.1e-4,
     * BF16 1.7e-3, Q8_0 5.2e-3, Q6_K 0.0174, Q5_K 0.0352, Q5_1 0.0371, Q5_0 0.0417, Q4_K 0.0700, Q4_1 0.0770,
     * Q4_0 0.0840 - each close to its step / sqrt(12) (e.g. Q8_0: amax of 32 normals ~2.1, step 2.1/127, 0.0048).
     * Bounds sit about 10% above, so a quantizer that loses its scale search (make_qkx2_quants, make_qx_quants) fails.
     */
    @Test
    void rmseWithinBoundsAndOrderedLikeGgml() {
        float[] x = gaussian(42, N);
        Map<GgmlType, Double> bound = new EnumMap<>(GgmlType.class);
        bound.put(GgmlType.F32, 0.0);
        bound.put(GgmlType.F16, 2.3e-4);
        bound.put(GgmlType.BF16, 1.85e-3);
        bound.put(GgmlType.Q8_0, 5.8e-3);
        bound.put(GgmlType.Q6_K, 0.0195);
        bound.put(GgmlType.Q5_K, 0.039);
        bound.put(GgmlType.Q5_1, 0.041);
        bound.put(GgmlType.Q5_0, 0.046);
        bound.put(GgmlType.Q4_K, 0.077);
        bound.put(GgmlType.Q4_1, 0.085);
        bound.put(GgmlType.Q4_0, 0.093);
        Map<GgmlType, Double> err = new EnumMap<>(GgmlType.class);
        for (GgmlType t : bound.keySet()) {
            err.put(t, rmse(x, roundTrip(t, x)));
        }
        bound.forEach((t, b) -> assertTrue(err.get(t) <= b, t + " rmse " + err.get(t) + " > " + b));
        // ggml's quality ordering
        GgmlType[] chain = {GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q6_K, GgmlType.Q5_K, GgmlType.Q4_K,
                GgmlType.Q4_0};
        for (int i = 1; i < chain.length; i++) {
            assertTrue(err.get(chain[i - 1]) < err.get(chain[i]), chain[i - 1] + " should beat " + chain[i]);
        }
        assertTrue(err.get(GgmlType.Q5_0) < err.get(GgmlType.Q4_0));
        assertTrue(err.get(GgmlType.Q5_1) < err.get(GgmlType.Q4_1));
        assertTrue(err.get(GgmlType.Q4_1) < err.get(GgmlType.Q4_0));
        assertTrue(err.get(GgmlType.Q5_K) < err.get(GgmlType.Q5_0));
    }

    /**
     * llama.cpp's tests/test-quantize-fns.cpp: data 0.1 + 2 cos(i) over 4096 values, "total error"
     * sqrt(sum of squared errors) / n below 0.002 for every type it checks at full precision (it exempts only the
     * 2- and 3-bit and ternary types, none of which we support).
     */
    @Test
    void passesLlamaCppQuantizeFnsThreshold() {
        int n = 32 * 128;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = 0.1f + 2 * (float) Math.cos(i);
        }
        for (GgmlType t : new GgmlType[] {GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            double total = rmse(x, roundTrip(t, x)) * Math.sqrt(n) / n;
            assertTrue(total < 0.002, t + " total error " + total);
        }
    }

    /** Values a type can represent exactly come back exactly (when the block's scale is itself exact). */
    @Test
    void gridValuesComeBackExactly() {
        float[] x = new float[64];
        // Q8_0: q * 2^-4 with q in [-127, 127], 127 present so d = amax / 127 = 2^-4 exactly
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 64; i++) {
            x[i] = (r.nextInt(255) - 127) / 16f;
        }
        x[5] = 127 / 16f;
        x[40] = -127 / 16f;
        assertArrayEquals(x, roundTrip(GgmlType.Q8_0, x), 0f, "Q8_0 grid");
        // Q4_0: q * 0.5 with q in [-8, 7], -8 present so d = max / -8 = 0.5
        for (int i = 0; i < 64; i++) {
            x[i] = (r.nextInt(16) - 8) * 0.5f;
        }
        x[3] = -4f;
        x[33] = -4f;
        assertArrayEquals(x, roundTrip(GgmlType.Q4_0, x), 0f, "Q4_0 grid");
        // Q5_0: q * 0.125 with q in [-16, 15], -16 present
        for (int i = 0; i < 64; i++) {
            x[i] = (r.nextInt(32) - 16) * 0.125f;
        }
        x[0] = -2f;
        x[63] = -2f;
        assertArrayEquals(x, roundTrip(GgmlType.Q5_0, x), 0f, "Q5_0 grid");
        // Q4_1: -1 + q * 0.25, q in [0, 15], both ends present so d = 3.75 / 15 = 0.25 and m = -1
        for (int i = 0; i < 64; i++) {
            x[i] = -1 + r.nextInt(16) * 0.25f;
        }
        x[1] = -1f;
        x[2] = 2.75f;
        x[40] = -1f;
        x[41] = 2.75f;
        assertArrayEquals(x, roundTrip(GgmlType.Q4_1, x), 0f, "Q4_1 grid");
        // Q5_1: -2 + q * 0.125, q in [0, 31]
        for (int i = 0; i < 64; i++) {
            x[i] = -2 + r.nextInt(32) * 0.125f;
        }
        x[1] = -2f;
        x[2] = 1.875f;
        x[40] = -2f;
        x[41] = 1.875f;
        assertArrayEquals(x, roundTrip(GgmlType.Q5_1, x), 0f, "Q5_1 grid");
        // F16 / BF16: representable values
        float[] h = {1f, -2f, 65504f, 0x1p-24f, 0.333251953125f, 0f, Float.POSITIVE_INFINITY};
        assertArrayEquals(h, roundTrip(GgmlType.F16, h), 0f);
        float[] bf = {1f, -3f, 0.333984375f, 0x1p-133f, 3e38f - (3e38f % 0x1p120f), Float.NEGATIVE_INFINITY};
        bf[4] = Float.intBitsToFloat(0x7F7F0000); // largest bf16
        assertArrayEquals(bf, roundTrip(GgmlType.BF16, bf), 0f);
        // K-quants and everything else: an all-zero super-block stays zero
        float[] zeros = new float[256];
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.Q4_0,
                GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1}) {
            assertArrayEquals(zeros, roundTrip(t, zeros), 0f, t + " zeros");
        }
    }

    @Test
    void q8_0RoundsHalvesAwayFromZeroLikeRoundf() {
        float[] x = new float[32];
        x[0] = 127;   // d = 1
        x[1] = -2.5f; // roundf: -3 (Math.round would give -2)
        x[2] = 2.5f;  // 3
        x[3] = -0.5f; // -1
        x[4] = 1.49f; // 1
        byte[] q = TypeKernels.of(GgmlType.Q8_0, "t").quantize(x, 0, 32);
        assertEquals(0x3C00, (q[0] & 0xFF) | (q[1] & 0xFF) << 8, "d = 1.0 as fp16");
        assertEquals(127, q[2]);
        assertEquals(-3, q[3]);
        assertEquals(3, q[4]);
        assertEquals(-1, q[5]);
        assertEquals(1, q[6]);
    }

    @Test
    void q4_0UsesTheSignedMaxAndTruncatingCast() {
        float[] x = new float[32];
        x[0] = -8;    // max magnitude, negative: d = -8 / -8 = 1, so q = x + 8
        x[1] = 7.9f;  // (int) (7.9 + 8.5) = 16 -> clamped to 15
        x[2] = -0.6f; // (int) (-0.6 + 8.5) = 7
        x[16] = 0.5f; // (int) (0.5 + 8.5) = 9
        byte[] q = TypeKernels.of(GgmlType.Q4_0, "t").quantize(x, 0, 32);
        assertEquals(0x3C00, (q[0] & 0xFF) | (q[1] & 0xFF) << 8);
        assertEquals(0x90, q[2] & 0xFF, "element 0 -> 0, element 16 -> 9");
        assertEquals(0x8F, q[3] & 0xFF, "element 1 -> 15, element 17 -> 8");
        assertEquals(0x87, q[4] & 0xFF, "element 2 -> 7");
    }

    @Test
    void halfAndBfloatRoundToNearestEvenAndKeepNaN() {
        float[] x = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 65520f, Float.NaN};
        byte[] h = TypeKernels.of(GgmlType.F16, "t").quantize(x, 0, 4);
        MemorySegment s = MemorySegment.ofArray(h);
        assertEquals(0x3C00, s.get(Blocks.SHORT_LE, 0) & 0xFFFF, "tie rounds down to even 1.0");
        assertEquals(0x3C02, s.get(Blocks.SHORT_LE, 2) & 0xFFFF, "tie rounds up to even");
        assertEquals(0x7C00, s.get(Blocks.SHORT_LE, 4) & 0xFFFF, "65520 overflows to inf");
        assertTrue(Float.isNaN(Float.float16ToFloat(s.get(Blocks.SHORT_LE, 6))));

        assertEquals(0x3F80, BF16Kernel.fromFloat(Float.intBitsToFloat(0x3F808000)) & 0xFFFF, "tie to even (down)");
        assertEquals(0x3F82, BF16Kernel.fromFloat(Float.intBitsToFloat(0x3F818000)) & 0xFFFF, "tie to even (up)");
        assertEquals(0x3F81, BF16Kernel.fromFloat(Float.intBitsToFloat(0x3F808001)) & 0xFFFF, "above the tie");
        assertEquals(0x7FC0, BF16Kernel.fromFloat(Float.intBitsToFloat(0x7F800001)) & 0xFFFF, "signalling NaN made quiet");
        assertEquals(0xFFC1, BF16Kernel.fromFloat(Float.intBitsToFloat(0xFF810000)) & 0xFFFF, "NaN payload kept, quiet bit set");
        assertEquals(0x7F80, BF16Kernel.fromFloat(Float.intBitsToFloat(0x7F7FFFFF)) & 0xFFFF, "max float rounds to inf");
    }

    @Test
    void nearestIntIsGgmlsRoundHalfEven() {
        assertEquals(2, Blocks.nearestInt(2.5f));
        assertEquals(4, Blocks.nearestInt(3.5f));
        assertEquals(-2, Blocks.nearestInt(-2.5f));
        assertEquals(-3, Blocks.nearestInt(-2.6f));
        assertEquals(4194303, Blocks.nearestInt(4194303f));
        assertEquals(-3, Blocks.roundf(-2.5f));
        assertEquals(3, Blocks.roundf(2.5f));
        assertEquals(0, Blocks.roundf(0.49999997f));
    }

    @Test
    void quantizeRejectsBadLengths() {
        float[] x = new float[300];
        MetagenException e = assertThrows(MetagenException.class, () -> TypeKernels.of(GgmlType.Q4_K, "t").quantize(x, 0, 100));
        assertTrue(e.getMessage().contains("Q4_K") && e.getMessage().contains("256"), e.getMessage());
        assertThrows(MetagenException.class, () -> TypeKernels.of(GgmlType.Q8_0, "t").quantize(x, 290, 32));
        assertThrows(MetagenException.class, () -> TypeKernels.of(GgmlType.F16, "t").quantize(x, -1, 2));
        // an offset inside the array is honoured
        float[] y = gaussian(3, 64);
        byte[] a = TypeKernels.of(GgmlType.Q8_0, "t").quantize(y, 32, 32);
        byte[] b = TypeKernels.of(GgmlType.Q8_0, "t").quantize(java.util.Arrays.copyOfRange(y, 32, 64), 0, 32);
        assertArrayEquals(b, a);
    }
}
