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
 * Q8_0 dot product with jdk.incubator.vector: L int8 weights are widened lane-for-lane to floats, multiplied with x
 * and summed per block; the block sum is scaled by d once. Two blocks per iteration for independent FMA chains.
 */
final class Q8_0VectorKernel extends Q8_0Kernel {

    private static FloatVector block(MemorySegment w, long block, float[] x, int xi) {
        FloatVector s = FloatVector.zero(F);
        for (int j = 0; j < QK; j += L) {
            FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, w, block + 2 + j, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0);
            s = q.fma(FloatVector.fromArray(F, x, xi + j), s);
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
            a1 = block(w, o + BLOCK_BYTES, x, xOff + (b + 1) * QK).fma(FloatVector.broadcast(F, Blocks.half(w, o + BLOCK_BYTES)), a1);
        }
        if (b < blocks) {
            long o = off + (long) b * BLOCK_BYTES;
            a0 = block(w, o, x, xOff + b * QK).fma(FloatVector.broadcast(F, Blocks.half(w, o)), a0);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }
}
