package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q8_0 dot product with jdk.incubator.vector: L int8 weights at a time are widened lane-for-lane to floats
 * ({@link Simd#bytesToInts}), multiplied with x and summed per block; the block sum is scaled by d once. Two blocks
 * per iteration go to two accumulators for independent FMA chains. {@link #matvecs} runs the same sums for four
 * vectors at once, widening each stored block once for all four (verifying drafted tokens, small batches).
 */
final class Q8_0VectorKernel extends Q8_0Kernel {

    /** sum_j q[j] * x[xi + j] over one block, in L lanes. */
    private static FloatVector block(MemorySegment w, long block, float[] x, int xi) {
        FloatVector s = FloatVector.zero(F);
        for (int j = 0; j < QK; j += L) {
            s = Simd.toFloats(Simd.bytesToInts(w, block + 2 + j)).fma(FloatVector.fromArray(F, x, xi + j), s);
        }
        return s;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        int blocks = n / QK;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            long o = off + (long) b * BLOCK_BYTES;
            a0 = block(w, o, x, xOff + b * QK).fma(FloatVector.broadcast(F, Blocks.half(w, o)), a0);
            a1 = block(w, o + BLOCK_BYTES, x, xOff + (b + 1) * QK)
                    .fma(FloatVector.broadcast(F, Blocks.half(w, o + BLOCK_BYTES)), a1);
        }
        if (b < blocks) {
            long o = off + (long) b * BLOCK_BYTES;
            a0 = block(w, o, x, xOff + b * QK).fma(FloatVector.broadcast(F, Blocks.half(w, o)), a0);
        }
        return Simd.sum(a0.add(a1));
    }

    /**
     * Up to 11 vectors: from about 12 on, the GEMM's dequantized panels cost less than widening each block once per
     * four vectors (GemmThroughput: 60 GFLOP/s per thread for this at 4 to 12 vectors, 61-91 for the GEMM at 12).
     */
    @Override
    public int multiPositions() {
        return 11;
    }

    /** Rows per band of {@link #matvecs}: a band's rows (34 KB of 2048-wide Q8_0) stay in L2 for every group. */
    private static final int BAND = 16;

    /**
     * Bands of {@value #BAND} rows; within a band, each group of four vectors runs over all its rows, so the group's
     * vectors stay in L1 across the band instead of being read from L2 once per row.
     */
    @Override
    public void matvecs(MemorySegment w, long rowBytes, int cols, float[] x, int xOff, int xStride, int positions,
                        float[] out, int outOff, int outStride, int rowFrom, int rowTo) {
        for (int r0 = rowFrom; r0 < rowTo; r0 += BAND) {
            int r1 = Math.min(rowTo, r0 + BAND);
            int p = 0;
            for (; p + 3 < positions; p += 4) {
                int x0 = xOff + p * xStride;
                for (int r = r0; r < r1; r++) {
                    dot4(w, r * rowBytes, x, x0, x0 + xStride, x0 + 2 * xStride, x0 + 3 * xStride, cols, out,
                            outOff + p * outStride + r, outStride);
                }
            }
            for (; p < positions; p++) {
                for (int r = r0; r < r1; r++) {
                    out[outOff + p * outStride + r] = dot(w, r * rowBytes, x, xOff + p * xStride, cols);
                }
            }
        }
    }

    /**
     * {@link #dot} of one row with four vectors ({@code out[o + i * outStride]} for the vector at {@code xi}), each
     * block's weights widened once for all four: per vector the same operations in the same order as dot, so each
     * result equals its own dot bit for bit. Eight vectors at once need 24 running sums, and written out that way the
     * method outgrew C2's inlining budget: the vectors were boxed and it ran 4x slower.
     */
    private static void dot4(MemorySegment w, long off, float[] x, int x0, int x1, int x2, int x3, int n,
                             float[] out, int o, int outStride) {
        int blocks = n / QK;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z; // dot's pairing: even blocks here, odd blocks in c
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z;
        for (int b = 0; b < blocks; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int j0 = b * QK;
            FloatVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int j = 0; j < QK; j += L) {
                FloatVector q = Simd.toFloats(Simd.bytesToInts(w, block + 2 + j));
                s0 = q.fma(FloatVector.fromArray(F, x, x0 + j0 + j), s0);
                s1 = q.fma(FloatVector.fromArray(F, x, x1 + j0 + j), s1);
                s2 = q.fma(FloatVector.fromArray(F, x, x2 + j0 + j), s2);
                s3 = q.fma(FloatVector.fromArray(F, x, x3 + j0 + j), s3);
            }
            FloatVector d = FloatVector.broadcast(F, Blocks.half(w, block));
            if ((b & 1) == 0) { // a branch, not a loop over block pairs: C2 compiles this form 1.3x faster
                a0 = s0.fma(d, a0);
                a1 = s1.fma(d, a1);
                a2 = s2.fma(d, a2);
                a3 = s3.fma(d, a3);
            } else {
                c0 = s0.fma(d, c0);
                c1 = s1.fma(d, c1);
                c2 = s2.fma(d, c2);
                c3 = s3.fma(d, c3);
            }
        }
        out[o] = Simd.sum(a0.add(c0));
        out[o + outStride] = Simd.sum(a1.add(c1));
        out[o + 2 * outStride] = Simd.sum(a2.add(c2));
        out[o + 3 * outStride] = Simd.sum(a3.add(c3));
    }

    /** As the scalar kernel (q * d, one rounding), L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, Blocks.half(w, block));
            int y = outOff + b * QK;
            for (int j = 0; j < QK; j += L) {
                Simd.toFloats(Simd.bytesToInts(w, block + 2 + j)).mul(d).intoArray(out, y + j);
            }
        }
    }
}
