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
 * Q4_K dot product with jdk.incubator.vector: per 32-value sub-block, sum(q*x) and sum(x) are accumulated in vector
 * lanes and combined as d*sc*sum(q*x) - dmin*m*sum(x), so the min costs one add per element.
 */
final class Q4_KVectorKernel extends Q4_KKernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            float dmin = Blocks.half(w, block + 2);
            for (int g = 0; g < 4; g++) {
                int sm1 = KQuants.scaleMin(w, block + 4, 2 * g);
                int sm2 = KQuants.scaleMin(w, block + 4, 2 * g + 1);
                long q = block + 16 + 32L * g;
                int xi = xOff + b * QK + 64 * g;
                FloatVector qx1 = FloatVector.zero(F), sx1 = qx1, qx2 = qx1, sx2 = qx1;
                for (int l = 0; l < 32; l += L) {
                    ByteVector v = ByteVector.fromMemorySegment(B, w, q + l, ByteOrder.LITTLE_ENDIAN);
                    FloatVector x1 = FloatVector.fromArray(F, x, xi + l);
                    FloatVector x2 = FloatVector.fromArray(F, x, xi + 32 + l);
                    qx1 = ((FloatVector) v.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(x1, qx1);
                    qx2 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(x2, qx2);
                    sx1 = sx1.add(x1);
                    sx2 = sx2.add(x2);
                }
                acc = qx1.fma(FloatVector.broadcast(F, d * (sm1 & 0xFF)), acc);
                acc = sx1.fma(FloatVector.broadcast(F, -dmin * (sm1 >>> 8)), acc);
                acc = qx2.fma(FloatVector.broadcast(F, d * (sm2 & 0xFF)), acc);
                acc = sx2.fma(FloatVector.broadcast(F, -dmin * (sm2 >>> 8)), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
