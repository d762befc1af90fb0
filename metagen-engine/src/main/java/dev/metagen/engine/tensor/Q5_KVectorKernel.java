package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q5_K dot product and dequantization with jdk.incubator.vector, as {@link Q4_KVectorKernel} with the fifth bit of
 * sub-block s taken from bit s of qh[l]: per 32-value sub-block, sum(q*x) accumulates in vector lanes and is added
 * scaled by d*sc, and the min term {@code dmin * sum_s m_s * sumx_s} uses the sums of x per sub-block computed once
 * per call (once per matrix-vector product). The dot product, like Q4_K's, loads each qs byte once for the two
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
        return dot(w, off, x, xOff, n, Simd.sums32(x, xOff, n));
    }

    @Override
    public void matvec(MemorySegment w, long rowBytes, int cols, float[] x, int xOff, float[] out, int outOff,
                       int rowFrom, int rowTo) {
        float[] sums = Simd.sums32(x, xOff, cols);
        for (int r = rowFrom; r < rowTo; r++) {
            out[outOff + r] = dot(w, r * rowBytes, x, xOff, cols, sums);
        }
    }

    /**
     * The dot product given {@code sums[s]}, the sum of x over sub-block s of the row: the scaled q*x part minus the
     * min part, each its own method so that neither exceeds C2's inlining node budget (past it, the Vector API calls
     * are not inlined and every vector is boxed, many times slower).
     */
    private static float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] sums) {
        return scaledDot(w, off, x, xOff, n) - Simd.minDot(w, off, BLOCK_BYTES, n / QK, sums);
    }

    /** {@code sum_s d * sc_s * sum(q * x)} over the sub-blocks s of the row. */
    private static float scaledDot(MemorySegment w, long off, float[] x, int xOff, int n) {
        if (L == 8) {
            return dotBySubBlock(w, off, x, xOff, n);
        }
        // even and odd sub-blocks accumulate apart, two chains of dependent FMAs instead of one
        FloatVector accA = FloatVector.zero(F);
        FloatVector accB = accA;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            // the scales' bits are in the first and third of the twelve bytes' ints (the second holds the mins')
            long scales = KQuants.scales8(w.get(Blocks.INT_LE, block + 4), 0, w.get(Blocks.INT_LE, block + 12));
            for (int j = 0; j < 4; j++) {
                // qs[32j + l]: low nibble sub-block 2j, high nibble 2j+1; their fifth bits are bits 2j, 2j+1 of qh[l]
                long q = block + 48 + 32L * j;
                int xi = xOff + b * QK + 64 * j;
                FloatVector qa = FloatVector.zero(F);
                FloatVector qb = qa;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = Simd.bytesToInts(w, q + l);
                    IntVector bits = Simd.bytesToInts(w, block + 16 + l).lanewise(VectorOperators.LSHR, 2 * j);
                    IntVector a = v.and(0xF).or(bits.lanewise(VectorOperators.LSHL, 4).and(0x10));
                    IntVector c = v.lanewise(VectorOperators.LSHR, 4).and(0xF)
                            .or(bits.lanewise(VectorOperators.LSHL, 3).and(0x10));
                    qa = Simd.toFloats(a).fma(FloatVector.fromArray(F, x, xi + l), qa);
                    qb = Simd.toFloats(c).fma(FloatVector.fromArray(F, x, xi + 32 + l), qb);
                }
                int shift = 16 * j;
                accA = qa.fma(FloatVector.broadcast(F, d * ((int) (scales >>> shift) & 0xFF)), accA);
                accB = qb.fma(FloatVector.broadcast(F, d * ((int) (scales >>> (shift + 8)) & 0xFF)), accB);
            }
        }
        return Simd.sum(accA.add(accB));
    }

    /**
     * {@link #scaledDot} one sub-block at a time, for 8-lane (AVX2) vectors: there the pairwise loop ran
     * 0.85x as fast as this one (DotThroughput Q5_K with -XX:UseAVX=2), while with 16 lanes it runs 1.4x as fast.
     */
    private static float dotBySubBlock(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            // the scales' bits are in the first and third of the twelve bytes' ints (the second holds the mins')
            long scales = KQuants.scales8(w.get(Blocks.INT_LE, block + 4), 0, w.get(Blocks.INT_LE, block + 12));
            for (int s = 0; s < 8; s++) {
                int xi = xOff + b * QK + 32 * s;
                FloatVector qx = FloatVector.zero(F);
                for (int l = 0; l < 32; l += L) {
                    qx = Simd.toFloats(q(w, block, s, l)).fma(FloatVector.fromArray(F, x, xi + l), qx);
                }
                acc = qx.fma(FloatVector.broadcast(F, d * ((int) (scales >>> (8 * s)) & 0xFF)), acc);
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
