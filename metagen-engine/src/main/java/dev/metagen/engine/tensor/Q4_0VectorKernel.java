package dev.metagen.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.metagen.engine.tensor.Simd.B;
import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/** Q4_0 dot product with jdk.incubator.vector: nibbles are split and re-centred (-8) in byte lanes, then widened. */
final class Q4_0VectorKernel extends Q4_0Kernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, block + 2 + j, ByteOrder.LITTLE_ENDIAN);
                FloatVector lo = (FloatVector) q.and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                        .convertShape(VectorOperators.B2F, F, 0);
                s = lo.fma(FloatVector.fromArray(F, x, xi + j), s);
                s = hi.fma(FloatVector.fromArray(F, x, xi + QK / 2 + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Blocks.half(w, block)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
