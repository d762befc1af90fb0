package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Matrix#matmul}: for every supported type, odd row counts, column tails, 1..64 positions and padded strides,
 * each output equals (bit for bit) the fused multiply-add sum, in column order, of the scalar-dequantized row with its
 * vector (the order the kernel promises, across panel chunks too), is close to a double-precision sum, and does not change with the row split (the
 * thread partition) or with how many positions are processed together. The vector dequantizers that fill the panels
 * equal the scalar ones exactly.
 */
class GemmTest {
    private static final List<GgmlType> TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
    private static final int[] POSITIONS = {1, 2, 3, 4, 5, 7, 8, 13, 32, 64};

    /**
     * Columns: more than one panel chunk ({@link Gemm#KC}) with a short last one, in whole blocks for block types;
     * an odd count (vector tail) for the per-element types.
     */
    private static int cols(GgmlType t) {
        return switch (t) {
            case F32, F16, BF16 -> Gemm.KC + 2 * FloatVector.SPECIES_PREFERRED.length() + 7;
            case Q4_K, Q5_K, Q6_K -> 512;
            default -> Gemm.KC + 64;
        };
    }

    private static Matrix matrix(GgmlType t, int rows, int cols, SplittableRandom r) {
        byte[] data;
        if (t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16) {
            float[] x = RoundTripTest.gaussian(r.nextLong(), rows * cols);
            data = TypeKernels.of(t, "w").quantize(x, 0, x.length);
        } else {
            data = DotTest.randomRow(t, rows * cols, r); // rows are consecutive blocks
        }
        return new Matrix("w." + t, t, MemorySegment.ofArray(data), cols, rows);
    }

    /** The promised summation: fused multiply-adds in column order from zero, one output at a time. */
    private static float fmaDot(float[] w, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s = Math.fma(w[i], x[xOff + i], s);
        }
        return s;
    }

    @Test
    void matchesDequantizedDotForEveryTypeAndShape() {
        SplittableRandom r = new SplittableRandom(17);
        for (GgmlType t : TYPES) {
            int cols = cols(t);
            int rows = 37;
            Matrix m = matrix(t, rows, cols, r);
            float[][] deq = new float[rows][cols];
            for (int j = 0; j < rows; j++) {
                TypeKernels.scalar(t).dequantize(m.data(), j * t.byteSize(cols), deq[j], 0, cols);
            }
            int inStride = cols + 3;
            int outStride = rows + 2;
            float[] in = new float[64 * inStride];
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) r.nextDouble(-1, 1);
            }
            for (int np : POSITIONS) {
                float[] out = new float[np * outStride];
                m.matmul(in, inStride, out, outStride, np, 0, rows);
                float[] split = new float[np * outStride];
                // an uneven split, as threads would take it: outputs must not move by a bit
                m.matmul(in, inStride, split, outStride, np, 0, 5);
                m.matmul(in, inStride, split, outStride, np, 5, 22);
                m.matmul(in, inStride, split, outStride, np, 22, rows);
                assertArrayEquals(out, split, 0f, t + " row split, " + np + " positions");
                for (int p = 0; p < np; p++) {
                    float[] one = new float[outStride];
                    if (p % 5 == 0) { // the same position alone, from its own array
                        m.matmul(Arrays.copyOfRange(in, p * inStride, (p + 1) * inStride), inStride, one, outStride,
                                1, 0, rows);
                    }
                    for (int j = 0; j < rows; j++) {
                        float got = out[p * outStride + j];
                        // the vector kernel and the scalar fallback (-Dmetagen.vector=false) promise the same sum
                        assertEquals(fmaDot(deq[j], in, p * inStride, cols), got, 0f,
                                t + " row " + j + " position " + p + " of " + np);
                        if (p % 5 == 0) {
                            assertEquals(got, one[j], 0f, t + " alone vs in a batch of " + np);
                        }
                        double ref = 0;
                        double mag = 0;
                        for (int i = 0; i < cols; i++) {
                            ref += (double) deq[j][i] * in[p * inStride + i];
                            mag += Math.abs((double) deq[j][i] * in[p * inStride + i]);
                        }
                        assertEquals(ref, got, 2e-5 * mag + 1e-30, t + " vs double sum");
                    }
                    for (int j = rows; j < outStride; j++) {
                        assertEquals(0f, out[p * outStride + j], t + " wrote past the rows");
                    }
                }
            }
        }
    }

    @Test
    void vectorDequantizeEqualsScalar() {
        SplittableRandom r = new SplittableRandom(5);
        for (GgmlType t : TYPES) {
            int n = 2 * cols(t);
            byte[] data = t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16
                    ? TypeKernels.of(t, "w").quantize(RoundTripTest.gaussian(3, n), 0, n) : DotTest.randomRow(t, n, r);
            float[] a = new float[n + 1];
            float[] b = new float[n + 1];
            TypeKernels.of(t, "w").dequantize(MemorySegment.ofArray(data), 0, a, 1, n);
            TypeKernels.scalar(t).dequantize(MemorySegment.ofArray(data), 0, b, 1, n);
            assertArrayEquals(b, a, 0f, t.name());
        }
    }

    @Test
    void badRangesAreMetagenExceptions() {
        Matrix m = matrix(GgmlType.Q8_0, 4, 64, new SplittableRandom(1));
        float[] in = new float[2 * 64];
        float[] out = new float[2 * 4];
        MetagenException e = assertThrows(MetagenException.class, () -> m.matmul(in, 64, out, 4, 2, 0, 5));
        assertTrue(e.getMessage().contains("w.Q8_0") && e.getMessage().contains("[0, 5)"), e.getMessage());
        assertThrows(MetagenException.class, () -> m.matmul(in, 64, out, 4, 3, 0, 4)); // input too short
        assertThrows(MetagenException.class, () -> m.matmul(in, 32, out, 4, 1, 0, 4)); // stride below cols
        assertThrows(MetagenException.class, () -> m.matmul(in, 64, new float[7], 4, 2, 0, 4)); // output too short
        m.matmul(in, 64, out, 4, 0, 0, 4); // no positions: nothing to do
        e = assertThrows(MetagenException.class, () -> m.matvecs(in, 0, 64, 3, out, 0, 4, 0, 4)); // input too short
        assertTrue(e.getMessage().contains("matvecs on w.Q8_0") && e.getMessage().contains("3 positions"),
                e.getMessage());
        assertThrows(MetagenException.class, () -> m.matvecs(in, 0, 64, 2, out, 0, 4, 0, 5)); // rows past the end
        assertThrows(MetagenException.class, () -> m.matvecs(in, 0, 64, 2, out, 1, 4, 0, 4)); // output too short
        PackedActivations narrow = new PackedActivations().pack(in, 32, 32, 2);
        e = assertThrows(MetagenException.class, () -> m.matmul(narrow, out, 4, 0, 4)); // packed for 32 columns
        assertTrue(e.getMessage().contains("32 values"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> new PackedActivations().pack(in, 64, 64, 3));
        assertTrue(e.getMessage().contains("cannot pack 3 vectors"), e.getMessage());
    }
}
