package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Register-tiled matrix-matrix product of a stored weight matrix with several activation vectors (prefill, batched
 * decoding), in the style of GotoBLAS micro-kernels (Goto &amp; van de Geijn, "Anatomy of High-Performance Matrix
 * Multiplication", TOMS 2008): a panel of {@value #TR} weight rows is dequantized once to floats, then a
 * {@value #TR} x {@value #TP} tile of (row, position) outputs is computed with {@code TR * TP} vector accumulators,
 * so every loaded vector feeds several FMAs instead of one.
 *
 * <p>Each output has its own accumulator, stepped over the columns in order, with lanes added in lane order and
 * the column tail added last: exactly the sum of a float dot product of the dequantized row with the vector. So an
 * output does not depend on which rows or positions share its tile (a short tile repeats a row or a position and
 * drops the copies), on how rows are split between threads, or on how many positions are processed together.
 */
final class Gemm {
    /** Weight rows per tile. */
    static final int TR = 4;
    /** Positions per tile. */
    static final int TP = 4;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

    private Gemm() {}

    /**
     * {@code out[p * outStride + j] = row(j) . in[p * inStride .. + cols)} for rows {@code j in [rowFrom, rowTo)}
     * and positions {@code p in [0, positions)}.
     */
    static void matmul(TypeKernel kernel, MemorySegment data, long rowBytes, int cols, float[] in, int inStride,
                       float[] out, int outStride, int positions, int rowFrom, int rowTo) {
        // no column blocking by default: measured with GemmThroughput (thread CPU time), blocks of 256 columns were
        // 3 to 12% slower than whole rows here, even at 8192 columns x 128 positions
        matmul(kernel, data, rowBytes, cols, in, inStride, out, outStride, positions, rowFrom, rowTo,
                Math.max(L, cols - cols % L));
    }

    /**
     * As above, walking the columns in blocks of {@code kc} (a multiple of L) for all positions before the next
     * block, with the accumulators parked in memory between blocks (cache blocking; it does not change any sum).
     */
    static void matmul(TypeKernel kernel, MemorySegment data, long rowBytes, int cols, float[] in, int inStride,
                       float[] out, int outStride, int positions, int rowFrom, int rowTo, int kc) {
        int groups = (positions + TP - 1) / TP;
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < TR * cols) {
            scratch[0] = new float[TR * cols];
        }
        if (scratch[1].length < groups * TR * TP * L) {
            scratch[1] = new float[groups * TR * TP * L];
        }
        float[] panel = scratch[0];
        float[] acc = scratch[1];
        int bound = cols - cols % L;
        for (int j0 = rowFrom; j0 < rowTo; j0 += TR) {
            int nr = Math.min(TR, rowTo - j0);
            for (int i = 0; i < nr; i++) {
                kernel.dequantize(data, (j0 + i) * rowBytes, panel, i * cols, cols);
            }
            if (bound == 0) {
                java.util.Arrays.fill(acc, 0, groups * TR * TP * L, 0f);
            }
            for (int k0 = 0; k0 < bound; k0 += kc) {
                int k1 = Math.min(bound, k0 + kc);
                for (int g = 0; g < groups; g++) {
                    int p0 = g * TP;
                    tile(panel, cols, nr, in, inStride, p0, Math.min(TP, positions - p0), acc, g * TR * TP * L, k0, k1);
                }
            }
            for (int g = 0; g < groups; g++) {
                int p0 = g * TP;
                finish(panel, cols, nr, bound, in, inStride, p0, Math.min(TP, positions - p0), acc, g * TR * TP * L,
                        out, outStride, j0);
            }
        }
    }

    /**
     * Columns {@code [k0, k1)} of one tile: rows {@code j0 .. j0 + nr)} of the panel times positions
     * {@code p0 .. p0 + np)}, continuing the accumulators at {@code acc[a ..]} (laid out [row][position][lane];
     * started from zero when k0 is 0). Missing rows or positions of a short tile repeat the last real one; their
     * results are never stored.
     */
    private static void tile(float[] w, int cols, int nr, float[] in, int inStride, int p0, int np,
                             float[] acc, int a, int k0, int k1) {
        int w0 = 0;
        int w1 = Math.min(1, nr - 1) * cols;
        int w2 = Math.min(2, nr - 1) * cols;
        int w3 = Math.min(3, nr - 1) * cols;
        int x0 = p0 * inStride;
        int x1 = (p0 + Math.min(1, np - 1)) * inStride;
        int x2 = (p0 + Math.min(2, np - 1)) * inStride;
        int x3 = (p0 + Math.min(3, np - 1)) * inStride;
        FloatVector a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33;
        if (k0 == 0) {
            a00 = FloatVector.zero(F);
            a01 = a00; a02 = a00; a03 = a00; a10 = a00; a11 = a00; a12 = a00; a13 = a00;
            a20 = a00; a21 = a00; a22 = a00; a23 = a00; a30 = a00; a31 = a00; a32 = a00; a33 = a00;
        } else {
            a00 = FloatVector.fromArray(F, acc, a);
            a01 = FloatVector.fromArray(F, acc, a + L);
            a02 = FloatVector.fromArray(F, acc, a + 2 * L);
            a03 = FloatVector.fromArray(F, acc, a + 3 * L);
            a10 = FloatVector.fromArray(F, acc, a + 4 * L);
            a11 = FloatVector.fromArray(F, acc, a + 5 * L);
            a12 = FloatVector.fromArray(F, acc, a + 6 * L);
            a13 = FloatVector.fromArray(F, acc, a + 7 * L);
            a20 = FloatVector.fromArray(F, acc, a + 8 * L);
            a21 = FloatVector.fromArray(F, acc, a + 9 * L);
            a22 = FloatVector.fromArray(F, acc, a + 10 * L);
            a23 = FloatVector.fromArray(F, acc, a + 11 * L);
            a30 = FloatVector.fromArray(F, acc, a + 12 * L);
            a31 = FloatVector.fromArray(F, acc, a + 13 * L);
            a32 = FloatVector.fromArray(F, acc, a + 14 * L);
            a33 = FloatVector.fromArray(F, acc, a + 15 * L);
        }
        for (int i = k0; i < k1; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, in, x0 + i);
            FloatVector v1 = FloatVector.fromArray(F, in, x1 + i);
            FloatVector v2 = FloatVector.fromArray(F, in, x2 + i);
            FloatVector v3 = FloatVector.fromArray(F, in, x3 + i);
            FloatVector r = FloatVector.fromArray(F, w, w0 + i);
            a00 = r.fma(v0, a00);
            a01 = r.fma(v1, a01);
            a02 = r.fma(v2, a02);
            a03 = r.fma(v3, a03);
            r = FloatVector.fromArray(F, w, w1 + i);
            a10 = r.fma(v0, a10);
            a11 = r.fma(v1, a11);
            a12 = r.fma(v2, a12);
            a13 = r.fma(v3, a13);
            r = FloatVector.fromArray(F, w, w2 + i);
            a20 = r.fma(v0, a20);
            a21 = r.fma(v1, a21);
            a22 = r.fma(v2, a22);
            a23 = r.fma(v3, a23);
            r = FloatVector.fromArray(F, w, w3 + i);
            a30 = r.fma(v0, a30);
            a31 = r.fma(v1, a31);
            a32 = r.fma(v2, a32);
            a33 = r.fma(v3, a33);
        }
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + L);
        a02.intoArray(acc, a + 2 * L);
        a03.intoArray(acc, a + 3 * L);
        a10.intoArray(acc, a + 4 * L);
        a11.intoArray(acc, a + 5 * L);
        a12.intoArray(acc, a + 6 * L);
        a13.intoArray(acc, a + 7 * L);
        a20.intoArray(acc, a + 8 * L);
        a21.intoArray(acc, a + 9 * L);
        a22.intoArray(acc, a + 10 * L);
        a23.intoArray(acc, a + 11 * L);
        a30.intoArray(acc, a + 12 * L);
        a31.intoArray(acc, a + 13 * L);
        a32.intoArray(acc, a + 14 * L);
        a33.intoArray(acc, a + 15 * L);
    }

    /** Lanes of each real (row, position) accumulator added in lane order, then the column tail; stored. */
    private static void finish(float[] w, int cols, int nr, int bound, float[] in, int inStride, int p0, int np,
                               float[] acc, int a, float[] out, int outStride, int j0) {
        for (int r = 0; r < nr; r++) {
            int wr = r * cols;
            for (int p = 0; p < np; p++) {
                float s = 0;
                int base = a + (r * TP + p) * L;
                for (int l = 0; l < L; l++) {
                    s += acc[base + l];
                }
                int x = (p0 + p) * inStride;
                for (int i = bound; i < cols; i++) {
                    s += w[wr + i] * in[x + i];
                }
                out[(p0 + p) * outStride + j0 + r] = s;
            }
        }
    }
}
