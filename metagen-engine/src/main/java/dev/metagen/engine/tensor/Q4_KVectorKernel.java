package dev.metagen.engine.tensor;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q4_K dot product with jdk.incubator.vector: per 32-value sub-block, sum(q*x) and sum(x) are accumulated in vector
 * lanes and combined as d*sc*sum(q*x) - dmin*m*sum(x), so the min costs one add per element. The eight sub-blocks
 * run as one loop (nibble shift 0 or 4 as a variable) rather than unrolled code: C2 stops inlining Vector API calls
 * in a method past a node budget, and the unrolled version exceeded it and ran boxed, several times slower.
 */
final class Q4_KVectorKernel extends Q4_KKernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            float dmin = Blocks.half(w, block + 2);
            for (int s = 0; s < 8; s++) {
                int sm = KQuants.scaleMin(w, block + 4, s);
                long q = block + 16 + 32L * (s >> 1);
                int shift = 4 * (s & 1);
                int xi = xOff + b * QK + 32 * s;
                FloatVector qx = FloatVector.zero(F);
                FloatVector sx = qx;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = Simd.bytesToInts(w, q + l).lanewise(VectorOperators.LSHR, shift).and(0xF);
                    FloatVector xv = FloatVector.fromArray(F, x, xi + l);
                    qx = Simd.toFloats(v).fma(xv, qx);
                    sx = sx.add(xv);
                }
                acc = qx.fma(FloatVector.broadcast(F, d * (sm & 0xFF)), acc);
                acc = sx.fma(FloatVector.broadcast(F, -dmin * (sm >>> 8)), acc);
            }
        }
        return Simd.sum(acc);
    }

    /** As the scalar kernel (d * sc * q - dmin * m, rounded in the same steps), L values at a time; for GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            float min = Blocks.half(w, block + 2);
            for (int s = 0; s < 8; s++) {
                int sm = KQuants.scaleMin(w, block + 4, s);
                FloatVector ds = FloatVector.broadcast(F, d * (sm & 0xFF));
                FloatVector ms = FloatVector.broadcast(F, min * (sm >>> 8));
                long q = block + 16 + 32L * (s >> 1);
                int shift = 4 * (s & 1);
                int y = outOff + b * QK + 32 * s;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = Simd.bytesToInts(w, q + l).lanewise(VectorOperators.LSHR, shift).and(0xF);
                    ds.mul(Simd.toFloats(v)).sub(ms).intoArray(out, y + l);
                }
            }
        }
    }
}
