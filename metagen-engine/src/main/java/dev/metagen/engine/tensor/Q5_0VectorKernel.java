package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.INT_LE;
import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.I;
import static dev.metagen.engine.tensor.Simd.L;

/**
 * Q5_0 dot product and dequantization with jdk.incubator.vector: nibbles are split in int lanes and the fifth bit
 * of each element is taken from the block's 32-bit qh word by a per-lane variable shift. Q4_K_M files use Q5_0 for
 * tensors whose rows are not a multiple of 256 (all of Qwen2.5-0.5B's, 896 wide), so without this kernel their
 * decoding ran mostly in the scalar code.
 */
final class Q5_0VectorKernel extends Q5_0Kernel {
    /** Lane indices 0..L-1: the qh bit of lane l of a slice starting at element j is bit j + l. */
    private static final IntVector IOTA = IntVector.zero(I).addIndex(1);

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            IntVector qh = IntVector.broadcast(I, w.get(INT_LE, block + 2));
            int xi = xOff + b * QK;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                IntVector q = Simd.bytesToInts(w, block + 6 + j);
                s = lo(q, qh, j).fma(FloatVector.fromArray(F, x, xi + j), s);
                s = hi(q, qh, j).fma(FloatVector.fromArray(F, x, xi + QK / 2 + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Blocks.half(w, block)), acc);
        }
        return Simd.sum(acc);
    }

    /** As the scalar kernel ((q - 16) * d, one rounding), L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            IntVector qh = IntVector.broadcast(I, w.get(INT_LE, block + 2));
            FloatVector d = FloatVector.broadcast(F, Blocks.half(w, block));
            int y = outOff + b * QK;
            for (int j = 0; j < QK / 2; j += L) {
                IntVector q = Simd.bytesToInts(w, block + 6 + j);
                lo(q, qh, j).mul(d).intoArray(out, y + j);
                hi(q, qh, j).mul(d).intoArray(out, y + QK / 2 + j);
            }
        }
    }

    /** Elements j .. j+L: low nibbles with bit (j + lane) of qh as the fifth bit, minus 16. */
    private static FloatVector lo(IntVector q, IntVector qh, int j) {
        IntVector bit = qh.lanewise(VectorOperators.LSHR, IOTA.add(j)).and(1).lanewise(VectorOperators.LSHL, 4);
        return Simd.toFloats(q.and(0xF).or(bit).sub(16));
    }

    /** Elements j+16 .. j+16+L: high nibbles with bit (j + 16 + lane) of qh as the fifth bit, minus 16. */
    private static FloatVector hi(IntVector q, IntVector qh, int j) {
        IntVector bit = qh.lanewise(VectorOperators.LSHR, IOTA.add(j + QK / 2)).and(1).lanewise(VectorOperators.LSHL, 4);
        return Simd.toFloats(q.lanewise(VectorOperators.LSHR, 4).and(0xF).or(bit).sub(16));
    }
}
