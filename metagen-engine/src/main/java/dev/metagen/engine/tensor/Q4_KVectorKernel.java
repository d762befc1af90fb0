package dev.metagen.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q4_K dot product with jdk.incubator.vector: per 32-value sub-block, sum(q*x) and sum(x) are accumulated in vector
 * lanes and combined as d*sc*sum(q*x) - dmin*m*sum(x), so the min costs one add per element. Each load of qs bytes
 * serves both sub-blocks it packs (low and high nibble), and the twelve scale bytes are decoded once per super-block
 * from three int loads, so the hot loop has a fraction of the old loads and bounds checks. The four sub-block pairs run
 * as one loop rather than unrolled code: C2 stops inlining Vector API calls in a method past a node budget, and an
 * unrolled version exceeded it and ran boxed, several times slower.
 */
final class Q4_KVectorKernel extends Q4_KKernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector accQ = FloatVector.zero(F);
        FloatVector accM = accQ;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            float dmin = Blocks.half(w, block + 2);
            int u0 = w.get(Blocks.INT_LE, block + 4);
            int u1 = w.get(Blocks.INT_LE, block + 8);
            int u2 = w.get(Blocks.INT_LE, block + 12);
            long scales = KQuants.scales8(u0, u1, u2);
            long mins = KQuants.mins8(u0, u1, u2);
            for (int j = 0; j < 4; j++) {
                // bytes q[0..32) hold sub-block 2j in their low nibbles and 2j+1 in their high nibbles
                long q = block + 16 + 32L * j;
                int xi = xOff + b * QK + 64 * j;
                FloatVector qa = FloatVector.zero(F);
                FloatVector qb = qa;
                FloatVector sa = qa;
                FloatVector sb = qa;
                // with 16 lanes one 32-byte load feeds both halves (measured 1.08x); with 8 lanes the four
                // part conversions of such a load ran slower than four 8-byte loads
                ByteVector all = L == 16
                        ? ByteVector.fromMemorySegment(ByteVector.SPECIES_256, w, q, ByteOrder.LITTLE_ENDIAN) : null;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = L == 16
                            ? (IntVector) all.convertShape(VectorOperators.ZERO_EXTEND_B2I, Simd.I, l / L)
                            : Simd.unsignedBytesToInts(w, q + l);
                    FloatVector xa = FloatVector.fromArray(F, x, xi + l);
                    FloatVector xb = FloatVector.fromArray(F, x, xi + 32 + l);
                    qa = Simd.toFloats(v.and(0xF)).fma(xa, qa);
                    qb = Simd.toFloats(v.lanewise(VectorOperators.LSHR, 4)).fma(xb, qb);
                    sa = sa.add(xa);
                    sb = sb.add(xb);
                }
                int shift = 16 * j;
                accQ = qa.fma(FloatVector.broadcast(F, d * ((int) (scales >>> shift) & 0xFF)), accQ);
                accM = sa.fma(FloatVector.broadcast(F, -dmin * ((int) (mins >>> shift) & 0xFF)), accM);
                accQ = qb.fma(FloatVector.broadcast(F, d * ((int) (scales >>> (shift + 8)) & 0xFF)), accQ);
                accM = sb.fma(FloatVector.broadcast(F, -dmin * ((int) (mins >>> (shift + 8)) & 0xFF)), accM);
            }
        }
        return Simd.sum(accQ.add(accM));
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
