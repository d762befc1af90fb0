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
 * Q4_K dot product with jdk.incubator.vector. The min term of a super-block, {@code dmin * sum_s m_s * sumx_s} over
 * its eight 32-value sub-blocks, is taken apart from the q*x part ({@link Simd#minDot}) from the sums of x per
 * sub-block, which a matrix-vector product computes once for all its rows ({@link Simd#sums32}); so the hot loop only
 * accumulates q*x per sub-block in vector lanes and adds it scaled by d*sc. Each load of qs bytes serves both
 * sub-blocks it packs (low and high nibble), and the six-bit scales are decoded once per super-block from two int
 * loads. The four sub-block pairs run as one loop rather than unrolled code: C2 stops inlining Vector API calls in a
 * method past a node budget, and an unrolled version exceeded it and ran boxed, several times slower.
 */
final class Q4_KVectorKernel extends Q4_KKernel {

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
        // even and odd sub-blocks accumulate apart: one chain of eight dependent FMAs per super-block would bound
        // the loop by FMA latency
        FloatVector accA = FloatVector.zero(F);
        FloatVector accB = accA;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block);
            // the scales' bits are in the first and third of the twelve bytes' ints (the second holds the mins')
            long scales = KQuants.scales8(w.get(Blocks.INT_LE, block + 4), 0, w.get(Blocks.INT_LE, block + 12));
            for (int j = 0; j < 4; j++) {
                // bytes q[0..32) hold sub-block 2j in their low nibbles and 2j+1 in their high nibbles
                long q = block + 16 + 32L * j;
                int xi = xOff + b * QK + 64 * j;
                FloatVector qa = FloatVector.zero(F);
                FloatVector qb = qa;
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
                }
                int shift = 16 * j;
                accA = qa.fma(FloatVector.broadcast(F, d * ((int) (scales >>> shift) & 0xFF)), accA);
                accB = qb.fma(FloatVector.broadcast(F, d * ((int) (scales >>> (shift + 8)) & 0xFF)), accB);
            }
        }
        return Simd.sum(accA.add(accB));
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
