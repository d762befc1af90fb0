package dev.metagen.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.metagen.engine.tensor.Simd.B;
import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q6_K dot product with jdk.incubator.vector: the four 6-bit values sharing ql/qh bytes are assembled and offset by
 * -32 in byte lanes (they fit in int8), widened to floats and scaled by d * scales[...] per 16 values.
 */
final class Q6_KVectorKernel extends Q6_KKernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block + 208);
            for (int h = 0; h < 2; h++) {
                long ql = block + 64L * h;
                long qh = block + 128 + 32L * h;
                long sc = block + 192 + 8L * h;
                int xi = xOff + b * QK + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    ByteVector a = ByteVector.fromMemorySegment(B, w, ql + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector c = ByteVector.fromMemorySegment(B, w, ql + 32 + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector hi = ByteVector.fromMemorySegment(B, w, qh + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector q1 = a.and((byte) 0xF).or(hi.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0xF).or(hi.lanewise(VectorOperators.LSHR, 2).and((byte) 3)
                            .lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q3 = a.lanewise(VectorOperators.LSHR, 4).or(hi.lanewise(VectorOperators.LSHR, 4)
                            .and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q4 = c.lanewise(VectorOperators.LSHR, 4).or(hi.lanewise(VectorOperators.LSHR, 6)
                            .lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    acc = widen(q1).mul(FloatVector.fromArray(F, x, xi + l)).fma(FloatVector.broadcast(F, d * Blocks.i8(w, sc + is)), acc);
                    acc = widen(q2).mul(FloatVector.fromArray(F, x, xi + 32 + l)).fma(FloatVector.broadcast(F, d * Blocks.i8(w, sc + is + 2)), acc);
                    acc = widen(q3).mul(FloatVector.fromArray(F, x, xi + 64 + l)).fma(FloatVector.broadcast(F, d * Blocks.i8(w, sc + is + 4)), acc);
                    acc = widen(q4).mul(FloatVector.fromArray(F, x, xi + 96 + l)).fma(FloatVector.broadcast(F, d * Blocks.i8(w, sc + is + 6)), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector widen(ByteVector q) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, 0);
    }
}
