package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/** Q4_0 dot product with jdk.incubator.vector: nibbles are split and re-centred (-8) in int lanes, then widened. */
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
