package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q8_0 dot product with jdk.incubator.vector: L int8 weights at a time are widened lane-for-lane to floats
 * ({@link Simd#bytesToInts}), multiplied with x and summed per block; the block sum is scaled by d once. Two blocks
 * per iteration go to two accumulators for independent FMA chains.
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
