package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q6_K dot product with jdk.incubator.vector: each 6-bit value is assembled from its ql nibble and qh bit pair and
 * offset by -32, widened to floats and scaled by d * scales[...] per 16 values. The dot product loads each ql byte once
 * for both quarters it packs (low and high nibble), and converts a super-block's sixteen scales to d * scale as
 * vectors once, so that each 16 values broadcast theirs from memory: 1.07x to 1.11x over extracting, converting and
 * multiplying each scale in scalar code (DotThroughput Q6_K, 16 lanes). It loops over the two ql rows rather than
 * unrolling: C2 stops inlining Vector API calls in a method past a node budget, and unrolled versions (also one with
 * 32-byte loads) exceeded it and ran boxed, many times slower.
 */
final class Q6_KVectorKernel extends Q6_KKernel {

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector accLo = FloatVector.zero(F);
        FloatVector accHi = accLo;
        float[] ds = new float[16];
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block + 208);
            // d * scale for the sixteen int8 scales (one per 16 values, in order), L at a time: broadcasting each
            // from memory replaces a scalar extraction, conversion and multiplication per 16 values
            for (int g = 0; g < 16; g += L) {
                Simd.toFloats(Simd.bytesToInts(w, block + 192 + g)).mul(d).intoArray(ds, g);
            }
            for (int h = 0; h < 2; h++) {
                long qh = block + 128 + 32L * h;
                for (int p = 0; p < 2; p++) {
                    // ql[32p + l] holds quarter p in its low nibbles and quarter p + 2 in its high nibbles;
                    // quarter k's top two bits are bits 2k..2k+1 of qh[l]
                    long ql = block + 64L * h + 32L * p;
                    int xi = xOff + b * QK + 128 * h + 32 * p;
                    for (int l = 0; l < 32; l += L) {
                        IntVector v = Simd.unsignedBytesToInts(w, ql + l);
                        // bits 2p, 2p+1 (quarter p) and 2p+4, 2p+5 (quarter p+2) moved to 0, 1 and 4, 5
                        IntVector bits = Simd.unsignedBytesToInts(w, qh + l).lanewise(VectorOperators.LSHR, 2 * p);
                        IntVector lo = v.and(0xF).or(bits.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32);
                        IntVector hi = v.lanewise(VectorOperators.LSHR, 4).or(bits.and(0x30)).sub(32);
                        int g = 8 * h + 2 * p + l / 16; // the scale of x[xi + l]; x[xi + 64 + l] has g + 4
                        accLo = Simd.toFloats(lo).mul(FloatVector.fromArray(F, x, xi + l))
                                .fma(FloatVector.broadcast(F, ds[g]), accLo);
                        accHi = Simd.toFloats(hi).mul(FloatVector.fromArray(F, x, xi + 64 + l))
                                .fma(FloatVector.broadcast(F, ds[g + 4]), accHi);
                    }
                }
            }
        }
        return Simd.sum(accLo.add(accHi));
    }

    /** As the scalar kernel ((d * scale) * (q - 32)), L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = Blocks.half(w, block + 208);
            for (int h = 0; h < 2; h++) {
                long qh = block + 128 + 32L * h;
                long sc = block + 192 + 8L * h;
                for (int k = 0; k < 4; k++) {
                    long ql = block + 64L * h + 32L * (k & 1);
                    int nibble = 4 * (k >> 1);
                    int y = outOff + b * QK + 128 * h + 32 * k;
                    for (int l = 0; l < 32; l += L) {
                        IntVector lo = Simd.bytesToInts(w, ql + l).lanewise(VectorOperators.LSHR, nibble).and(0xF);
                        IntVector hi = Simd.bytesToInts(w, qh + l).lanewise(VectorOperators.LSHR, 2 * k).and(3)
                                .lanewise(VectorOperators.LSHL, 4);
                        FloatVector scale = FloatVector.broadcast(F, d * Blocks.i8(w, sc + 2 * k + l / 16));
                        scale.mul(Simd.toFloats(lo.or(hi).sub(32))).intoArray(out, y + l);
                    }
                }
            }
        }
    }
}
