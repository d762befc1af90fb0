package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q4_0 dot product with jdk.incubator.vector: nibbles are split and re-centred (-8) in int lanes, then widened.
 * {@link #matvecs} runs the same sums for four vectors at once, splitting and widening each block once for all four.
 */
final class Q4_0VectorKernel extends Q4_0Kernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                IntVector q = Simd.bytesToInts(w, block + 2 + j);
                FloatVector lo = Simd.toFloats(q.and(0xF).sub(8));
                FloatVector hi = Simd.toFloats(q.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(8));
                s = lo.fma(FloatVector.fromArray(F, x, xi + j), s);
                s = hi.fma(FloatVector.fromArray(F, x, xi + QK / 2 + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Blocks.half(w, block)), acc);
        }
        return Simd.sum(acc);
    }

    /**
     * Up to 9 vectors, as Q8_0 (GemmThroughput, GFLOP/s per thread, this / GEMM: 64 / 30 at 4 vectors, 74 / 59 at 8,
     * 71 / 63 at 9, 57 / 77 at 11).
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
     * {@link #dot} of one row with four vectors {@code xStride} apart (results {@code outStride} apart), each block's
     * nibbles split and widened once for all four: per vector the same operations in the same order as dot, so each
     * result equals its own dot bit for bit.
     */
    private static void dot4(MemorySegment w, long off, float[] x, int x0, int xStride, int n, float[] out, int o,
                             int outStride) {
        int x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int j0 = b * QK;
            FloatVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int j = 0; j < QK / 2; j += L) {
                IntVector q = Simd.bytesToInts(w, block + 2 + j);
                FloatVector lo = Simd.toFloats(q.and(0xF).sub(8));
                FloatVector hi = Simd.toFloats(q.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(8));
                int i = j0 + j;
                s0 = lo.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                s0 = hi.fma(FloatVector.fromArray(F, x, x0 + i + QK / 2), s0);
                s1 = lo.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                s1 = hi.fma(FloatVector.fromArray(F, x, x1 + i + QK / 2), s1);
                s2 = lo.fma(FloatVector.fromArray(F, x, x2 + i), s2);
                s2 = hi.fma(FloatVector.fromArray(F, x, x2 + i + QK / 2), s2);
                s3 = lo.fma(FloatVector.fromArray(F, x, x3 + i), s3);
                s3 = hi.fma(FloatVector.fromArray(F, x, x3 + i + QK / 2), s3);
            }
            FloatVector d = FloatVector.broadcast(F, Blocks.half(w, block));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
            a3 = s3.fma(d, a3);
        }
        out[o] = Simd.sum(a0);
        out[o + outStride] = Simd.sum(a1);
        out[o + 2 * outStride] = Simd.sum(a2);
        out[o + 3 * outStride] = Simd.sum(a3);
    }

    /** As the scalar kernel ((nibble - 8) * d), L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, Blocks.half(w, block));
            int y = outOff + b * QK;
            for (int j = 0; j < QK / 2; j += L) {
                IntVector q = Simd.bytesToInts(w, block + 2 + j);
                Simd.toFloats(q.and(0xF).sub(8)).mul(d).intoArray(out, y + j);
                Simd.toFloats(q.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(8)).mul(d).intoArray(out, y + QK / 2 + j);
            }
        }
    }
}
