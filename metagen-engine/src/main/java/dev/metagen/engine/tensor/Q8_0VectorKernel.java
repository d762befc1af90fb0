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
     * Up to 9 vectors (a speculative step of 8 drafted tokens): from about 10 on, the GEMM's dequantized panels cost
     * less than widening each block once per four vectors (GemmThroughput, GFLOP/s per thread, this / GEMM: 81 / 23
     * at 4 vectors, 71 / 58 at 8, 55 / 62 at 9, 45 / 74 at 11).
     */
    @Override
    public int multiPositions() {
        return 9;
    }

    @Override
    public void matvecs(MemorySegment w, long rowBytes, int cols, float[] x, int xOff, int xStride, int positions,
                        float[] out, int outOff, int outStride, int rowFrom, int rowTo) {
        MultiVectorProduct.run(rowBytes, xOff, xStride, positions, out, outOff, outStride, rowFrom, rowTo,
                (off, x0, stride, o, oi, os) -> dot4(w, off, x, x0, stride, cols, o, oi, os),
                (off, xi) -> dot(w, off, x, xi, cols));
    }

    /**
     * {@link #dot} of one row with four vectors {@code xStride} apart (results {@code outStride} apart), each
     * block's weights widened once for all four: per vector the same operations in the same order as dot, so each
     * result equals its own dot bit for bit. Eight vectors at once need 24 running sums, and written out that way the
     * method outgrew C2's inlining budget: the vectors were boxed and it ran 4x slower.
     */
    private static void dot4(MemorySegment w, long off, float[] x, int x0, int xStride, int n, float[] out, int o,
                             int outStride) {
        int x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
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
