package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q5_K dot product and dequantization with jdk.incubator.vector, as {@link Q4_KVectorKernel} with the fifth bit of
 * sub-block s taken from bit s of qh[l]: per 32-value sub-block, sum(q*x) and sum(x) accumulate in vector lanes and
 * combine as d*sc*sum(q*x) - dmin*m*sum(x). The dot product, like Q4_K's, loads each qs byte once for the two
 * sub-blocks it packs and decodes the scales once per super-block; one loop over the four sub-block pairs (not
 * unrolled) keeps the method within C2's inlining budget.
 */
final class Q5_KVectorKernel extends Q5_KKernel {

    /** The 5-bit values of sub-block s, elements l .. l+L. */
    private static IntVector q(MemorySegment w, long block, int s, int l) {
        IntVector lo = Simd.bytesToInts(w, block + 48 + 32L * (s >> 1) + l)
                .lanewise(VectorOperators.LSHR, 4 * (s & 1)).and(0xF);
        IntVector hi = Simd.bytesToInts(w, block + 16 + l).lanewise(VectorOperators.LSHR, s).and(1)
                .lanewise(VectorOperators.LSHL, 4);
        return lo.or(hi);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        if (L == 8) {
            return dotBySubBlock(w, off, x, xOff, n);
        }
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
                // qs[32j + l]: low nibble sub-block 2j, high nibble 2j+1; their fifth bits are bits 2j, 2j+1 of qh[l]
                long q = block + 48 + 32L * j;
                int xi = xOff + b * QK + 64 * j;
                FloatVector qa = FloatVector.zero(F);
                FloatVector qb = qa;
                FloatVector sa = qa;
                FloatVector sb = qa;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = Simd.bytesToInts(w, q + l);
                    IntVector bits = Simd.bytesToInts(w, block + 16 + l).lanewise(VectorOperators.LSHR, 2 * j);
                    IntVector a = v.and(0xF).or(bits.lanewise(VectorOperators.LSHL, 4).and(0x10));
                    IntVector c = v.lanewise(VectorOperators.LSHR, 4).and(0xF)
                            .or(bits.lanewise(VectorOperators.LSHL, 3).and(0x10));
                    FloatVector xa = FloatVector.fromArray(F, x, xi + l);
                    FloatVector xb = FloatVector.fromArray(F, x, xi + 32 + l);
                    qa = Simd.toFloats(a).fma(xa, qa);
                    qb = Simd.toFloats(c).fma(xb, qb);
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

    /**
     * The dot product one sub-block at a time, for 8-lane (AVX2) vectors: there the pairwise loop of {@link #dot} ran
     * 0.85x as fast as this one (DotThroughput Q5_K with -XX:UseAVX=2), while with 16 lanes it runs 1.4x as fast.
     */
    private static float dotBySubBlock(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            float dmin = Blocks.half(w, block + 2);
            for (int s = 0; s < 8; s++) {
                int sm = KQuants.scaleMin(w, block + 4, s);
                int xi = xOff + b * QK + 32 * s;
                FloatVector qx = FloatVector.zero(F);
                FloatVector sx = qx;
                for (int l = 0; l < 32; l += L) {
                    FloatVector xv = FloatVector.fromArray(F, x, xi + l);
                    qx = Simd.toFloats(q(w, block, s, l)).fma(xv, qx);
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
                int y = outOff + b * QK + 32 * s;
                for (int l = 0; l < 32; l += L) {
                    ds.mul(Simd.toFloats(q(w, block, s, l))).sub(ms).intoArray(out, y + l);
                }
            }
        }
    }
}
