package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Register-tiled matrix-matrix product of a stored weight matrix with several activation vectors (prefill, batched
 * decoding), after the GotoBLAS micro-kernel (Goto &amp; van de Geijn, "Anatomy of High-Performance Matrix
 * Multiplication", TOMS 2008): a panel of {@value #MR} weight rows is dequantized once to floats, and each step over
 * the columns broadcasts one weight per row and multiplies it into vectors that hold that column for many positions
 * ({@link PackedActivations}), accumulating {@value #MR} x 2 vectors of outputs in registers. Per step that is
 * {@code 2 * MR} FMAs for 2 vector loads and {@value #MR} scalar broadcasts, so the loop runs on the FMA units
 * rather than on cache bandwidth (the earlier dot-product tiling loaded a vector per FMA pair from L2).
 *
 * <p>Every output is {@code fma(w[k], x[k], acc)} over {@code k = 0 .. cols-1} in order, one lane per output, started
 * from zero: exactly the scalar fallback of {@link Matrix#matmul(PackedActivations, float[], int, int, int)}. So an
 * output does not depend on which rows or positions share its tile, on how rows are split between threads, on how
 * many positions are processed together, or on the vector width.
 */
final class Gemm {
    /** Weight rows per micro-tile: {@code 2 * MR} accumulators plus the loaded vectors fit AVX-512's 32 registers. */
    static final int MR = 12;
    /**
     * Columns per panel chunk. The panel is stored chunk by chunk ({@code [chunk][row][KC]}) so that the twelve rows'
     * addresses differ by constants the JIT folds into the loads; a multiple of every block size (32 and 256).
     */
    static final int KC = 256;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

    private Gemm() {}

    /**
     * {@code out[p * outStride + j] = row(j) . x_p} for rows {@code j in [rowFrom, rowTo)} and every packed position
     * {@code p}.
     */
    static void matmul(TypeKernel kernel, MemorySegment data, long rowBytes, PackedActivations x,
                       float[] out, int outStride, int rowFrom, int rowTo) {
        int cols = x.cols();
        int positions = x.positions();
        if (positions == 0 || rowFrom >= rowTo) {
            return;
        }
        int chunks = (cols + KC - 1) / KC;
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < chunks * MR * KC) {
            scratch[0] = new float[chunks * MR * KC];
        }
        if (scratch[1].length < MR * 2 * L) {
            scratch[1] = new float[MR * 2 * L];
        }
        float[] panel = scratch[0];
        float[] acc = scratch[1];
        float[] xt = x.data();
        GgmlType type = kernel.type();
        for (int j0 = rowFrom; j0 < rowTo; j0 += MR) {
            int nr = Math.min(MR, rowTo - j0);
            for (int r = 0; r < MR; r++) {
                for (int c = 0; c < chunks; c++) {
                    int k0 = c * KC;
                    int len = Math.min(KC, cols - k0);
                    int at = c * MR * KC + r * KC;
                    if (r < nr) {
                        kernel.dequantize(data, (j0 + r) * rowBytes + type.byteSize(k0), panel, at, len);
                    } else { // rows past the end of a short tile compute zeros that are never stored
                        java.util.Arrays.fill(panel, at, at + len, 0f);
                    }
                }
            }
            for (int p0 = 0; p0 < positions; p0 += PackedActivations.GROUP) {
                int np = Math.min(PackedActivations.GROUP, positions - p0);
                int base = (p0 / PackedActivations.GROUP) * cols * PackedActivations.GROUP;
                int vectors = (np + L - 1) / L;
                for (int v = 0; v < vectors; v += 2) {
                    if (v + 1 < vectors) {
                        tile2(panel, xt, base + v * L, cols, acc);
                    } else {
                        tile1(panel, xt, base + v * L, cols, acc);
                    }
                    int lanes = Math.min(Math.min(2, vectors - v) * L, np - v * L);
                    for (int l = 0; l < lanes; l++) { // a position's outputs of the tile's rows are adjacent
                        int o = (p0 + v * L + l) * outStride + j0;
                        for (int r = 0; r < nr; r++) {
                            out[o + r] = acc[r * 2 * L + l];
                        }
                    }
                }
            }
        }
    }

    /**
     * Twelve panel rows times two vectors of positions (packed columns at {@code xt[x0 + k * GROUP ..]}); results
     * to {@code acc[r * 2L + lane]}.
     */
    private static void tile2(float[] panel, float[] xt, int x0, int cols, float[] acc) {
        final int g = PackedActivations.GROUP;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z, a9 = z, a10 = z, a11 = z;
        FloatVector b0 = z, b1 = z, b2 = z, b3 = z, b4 = z, b5 = z, b6 = z, b7 = z, b8 = z, b9 = z, b10 = z, b11 = z;
        for (int k0 = 0; k0 < cols; k0 += KC) {
            int len = Math.min(KC, cols - k0);
            int pb = k0 * MR;
            int xb = x0 + k0 * g;
            for (int k = 0; k < len; k++) {
                FloatVector x = FloatVector.fromArray(F, xt, xb + k * g);
                FloatVector y = FloatVector.fromArray(F, xt, xb + k * g + L);
                int p = pb + k;
                FloatVector w = FloatVector.broadcast(F, panel[p]);
                a0 = w.fma(x, a0);
                b0 = w.fma(y, b0);
                w = FloatVector.broadcast(F, panel[p + KC]);
                a1 = w.fma(x, a1);
                b1 = w.fma(y, b1);
                w = FloatVector.broadcast(F, panel[p + 2 * KC]);
                a2 = w.fma(x, a2);
                b2 = w.fma(y, b2);
                w = FloatVector.broadcast(F, panel[p + 3 * KC]);
                a3 = w.fma(x, a3);
                b3 = w.fma(y, b3);
                w = FloatVector.broadcast(F, panel[p + 4 * KC]);
                a4 = w.fma(x, a4);
                b4 = w.fma(y, b4);
                w = FloatVector.broadcast(F, panel[p + 5 * KC]);
                a5 = w.fma(x, a5);
                b5 = w.fma(y, b5);
                w = FloatVector.broadcast(F, panel[p + 6 * KC]);
                a6 = w.fma(x, a6);
                b6 = w.fma(y, b6);
                w = FloatVector.broadcast(F, panel[p + 7 * KC]);
                a7 = w.fma(x, a7);
                b7 = w.fma(y, b7);
                w = FloatVector.broadcast(F, panel[p + 8 * KC]);
                a8 = w.fma(x, a8);
                b8 = w.fma(y, b8);
                w = FloatVector.broadcast(F, panel[p + 9 * KC]);
                a9 = w.fma(x, a9);
                b9 = w.fma(y, b9);
                w = FloatVector.broadcast(F, panel[p + 10 * KC]);
                a10 = w.fma(x, a10);
                b10 = w.fma(y, b10);
                w = FloatVector.broadcast(F, panel[p + 11 * KC]);
                a11 = w.fma(x, a11);
                b11 = w.fma(y, b11);
            }
        }
        int s = 2 * L;
        a0.intoArray(acc, 0);
        b0.intoArray(acc, L);
        a1.intoArray(acc, s);
        b1.intoArray(acc, s + L);
        a2.intoArray(acc, 2 * s);
        b2.intoArray(acc, 2 * s + L);
        a3.intoArray(acc, 3 * s);
        b3.intoArray(acc, 3 * s + L);
        a4.intoArray(acc, 4 * s);
        b4.intoArray(acc, 4 * s + L);
        a5.intoArray(acc, 5 * s);
        b5.intoArray(acc, 5 * s + L);
        a6.intoArray(acc, 6 * s);
        b6.intoArray(acc, 6 * s + L);
        a7.intoArray(acc, 7 * s);
        b7.intoArray(acc, 7 * s + L);
        a8.intoArray(acc, 8 * s);
        b8.intoArray(acc, 8 * s + L);
        a9.intoArray(acc, 9 * s);
        b9.intoArray(acc, 9 * s + L);
        a10.intoArray(acc, 10 * s);
        b10.intoArray(acc, 10 * s + L);
        a11.intoArray(acc, 11 * s);
        b11.intoArray(acc, 11 * s + L);
    }

    /** As {@link #tile2} with one vector of positions (a group's last, short part). */
    private static void tile1(float[] panel, float[] xt, int x0, int cols, float[] acc) {
        final int g = PackedActivations.GROUP;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z, a9 = z, a10 = z, a11 = z;
        for (int k0 = 0; k0 < cols; k0 += KC) {
            int len = Math.min(KC, cols - k0);
            int pb = k0 * MR;
            int xb = x0 + k0 * g;
            for (int k = 0; k < len; k++) {
                FloatVector x = FloatVector.fromArray(F, xt, xb + k * g);
                int p = pb + k;
                a0 = FloatVector.broadcast(F, panel[p]).fma(x, a0);
                a1 = FloatVector.broadcast(F, panel[p + KC]).fma(x, a1);
                a2 = FloatVector.broadcast(F, panel[p + 2 * KC]).fma(x, a2);
                a3 = FloatVector.broadcast(F, panel[p + 3 * KC]).fma(x, a3);
                a4 = FloatVector.broadcast(F, panel[p + 4 * KC]).fma(x, a4);
                a5 = FloatVector.broadcast(F, panel[p + 5 * KC]).fma(x, a5);
                a6 = FloatVector.broadcast(F, panel[p + 6 * KC]).fma(x, a6);
                a7 = FloatVector.broadcast(F, panel[p + 7 * KC]).fma(x, a7);
                a8 = FloatVector.broadcast(F, panel[p + 8 * KC]).fma(x, a8);
                a9 = FloatVector.broadcast(F, panel[p + 9 * KC]).fma(x, a9);
                a10 = FloatVector.broadcast(F, panel[p + 10 * KC]).fma(x, a10);
                a11 = FloatVector.broadcast(F, panel[p + 11 * KC]).fma(x, a11);
            }
        }
        int s = 2 * L;
        a0.intoArray(acc, 0);
        a1.intoArray(acc, s);
        a2.intoArray(acc, 2 * s);
        a3.intoArray(acc, 3 * s);
        a4.intoArray(acc, 4 * s);
        a5.intoArray(acc, 5 * s);
        a6.intoArray(acc, 6 * s);
        a7.intoArray(acc, 7 * s);
        a8.intoArray(acc, 8 * s);
        a9.intoArray(acc, 9 * s);
        a10.intoArray(acc, 10 * s);
        a11.intoArray(acc, 11 * s);
    }
}
