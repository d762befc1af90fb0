package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q6_K dot product with jdk.incubator.vector: each 6-bit value is assembled from its ql nibble and qh bit pair and
 * offset by -32 in byte lanes (it fits in int8), widened to floats and scaled by d * scales[...] per 16 values.
 * The four 32-wide quarters of each half run as one loop with variable shifts, not unrolled: C2 stops inlining
 * Vector API calls in a method past a node budget, and the unrolled version exceeded it and ran boxed.
 */
final class Q6_KVectorKernel extends Q6_KKernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block + 208);
            for (int h = 0; h < 2; h++) {
                long qh = block + 128 + 32L * h;
                long sc = block + 192 + 8L * h;
                for (int k = 0; k < 4; k++) {
                    // quarter k: low bits from ql[32 (k & 1) + l], nibble k >> 1; high bits 2k..2k+1 of qh[l]
                    long ql = block + 64L * h + 32L * (k & 1);
                    int nibble = 4 * (k >> 1);
                    int xi = xOff + b * QK + 128 * h + 32 * k;
                    for (int l = 0; l < 32; l += L) {
                        IntVector lo = Simd.bytesToInts(w, ql + l).lanewise(VectorOperators.LSHR, nibble).and(0xF);
                        IntVector hi = Simd.bytesToInts(w, qh + l).lanewise(VectorOperators.LSHR, 2 * k).and(3)
                                .lanewise(VectorOperators.LSHL, 4);
                        FloatVector q = Simd.toFloats(lo.or(hi).sub(32));
                        float scale = d * Blocks.i8(w, sc + 2 * k + l / 16);
                        acc = q.mul(FloatVector.fromArray(F, x, xi + l)).fma(FloatVector.broadcast(F, scale), acc);
                    }
                }
            }
        }
        return Simd.sum(acc);
    }

    /** As the scalar kernel ((d * scale) * (q - 32)), L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block + 208);
            for (int h = 0; h < 2; h++) {
                long qh = block + 128 + 32L * h;
                long sc = block + 192 + 8L * h;
                for (int k = 0; k < 4; k++) {
                    long ql = block + 64L * h + 32L * (k & 1);
                    int nibble = 4 * (k >> 1);
                    int y = outOff + b * QK + 128 * h + 32 * k;
                    for (int l = 0; l < 32; l += L) {
                        IntVector lo = Simd.bytesToInts(w, ql + l).lanewise(VectorOperators.LSHR, nibble).and(0xF);
                        IntVector hi = Simd.bytesToInts(w, qh + l).lanewise(VectorOperators.LSHR, 2 * k).and(3)
                                .lanewise(VectorOperators.LSHL, 4);
                        FloatVector scale = FloatVector.broadcast(F, d * Blocks.i8(w, sc + 2 * k + l / 16));
                        scale.mul(Simd.toFloats(lo.or(hi).sub(32))).intoArray(out, y + l);
                    }
                }
            }
        }
    }
}
