package dev.metagen.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The jdk.incubator.vector species the vector kernels use: the preferred float species, and byte/short species with
 * the same lane count so that a load of L quantized values converts lane-for-lane to L floats. Only loaded after
 * {@link TypeKernels} has checked that the incubator module is present.
 */
final class Simd {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Lanes per float vector. */
    static final int L = F.length();
    /** Whether the blocked kernels apply: every block sub-length they step by (16 or 32 values) is a multiple of L. */
    static final boolean USABLE = L == 8 || L == 16;
    static final VectorSpecies<Byte> B = L == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final VectorSpecies<Short> S = L == 16 ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> I = L == 16 ? IntVector.SPECIES_512 : IntVector.SPECIES_256;

    private Simd() {}

    /**
     * L bytes at {@code off}, sign-extended to int lanes. Widening goes through ints (B2I, then I2F for floats)
     * because a direct 64-bit B2F was not intrinsified with 8 lanes (measured 40x slower) and because x86 has no
     * byte-lane shifts, so nibble extraction is cheaper in int lanes.
     */
    static IntVector bytesToInts(MemorySegment w, long off) {
        return (IntVector) ByteVector.fromMemorySegment(B, w, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2I, I, 0);
    }

    /**
     * L bytes at {@code off}, zero-extended to int lanes: for packed nibbles, whose high nibble then needs only a
     * shift, no mask.
     */
    static IntVector unsignedBytesToInts(MemorySegment w, long off) {
        return (IntVector) ByteVector.fromMemorySegment(B, w, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /**
     * The lanes of {@code v} added in lane order. Not reduceLanes(ADD): its order differs between the interpreted
     * Vector API and C2's intrinsic, so a dot product would change in the last bits once the JIT compiled it, and
     * a batched forward pass would not reproduce a sequential one.
     */
    static float sum(FloatVector v) {
        float[] lanes = new float[v.length()];
        v.intoArray(lanes, 0);
        float s = 0;
        for (float f : lanes) {
            s += f;
        }
        return s;
    }

    /**
     * The sum of each 32 values of {@code x[off .. off + n)}, for the min terms of Q4_K/Q5_K: L lanes of each 32
     * values added vectorwise, then folded in halves by lane permutations down to lane 0, in a fixed order, so a
     * matvec that computes these once gives the same sums, bit for bit, as a dot product that computes them for its
     * row (and the interpreter the same as C2, which reduceLanes does not promise).
     */
    static float[] sums32(float[] x, int off, int n) {
        float[] sums = new float[n / 32];
        float[] lanes = new float[L];
        for (int s = 0; s < sums.length; s++) {
            int i = off + 32 * s;
            FloatVector v = FloatVector.fromArray(F, x, i);
            for (int l = L; l < 32; l += L) {
                v = v.add(FloatVector.fromArray(F, x, i + l));
            }
            if (L == 16) {
                v = v.add(v.rearrange(FOLD8));
            }
            v = v.add(v.rearrange(FOLD4));
            v = v.add(v.rearrange(FOLD2));
            v = v.add(v.rearrange(FOLD1));
            v.intoArray(lanes, 0);
            sums[s] = lanes[0];
        }
        return sums;
    }

    /** Lane i takes lane i ^ k: added to the vector, the upper k lanes of each 2k fold onto the lower. */
    private static final VectorShuffle<Float> FOLD8 = L == 16 ? VectorShuffle.fromOp(F, i -> i ^ 8) : null;
    private static final VectorShuffle<Float> FOLD4 = L >= 8 ? VectorShuffle.fromOp(F, i -> i ^ 4) : null;
    private static final VectorShuffle<Float> FOLD2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> FOLD1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    /** Eight float lanes: the eight sub-blocks of a Q4_K/Q5_K super-block. */
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorMask<Integer> HIGH4 = VectorMask.fromLong(IntVector.SPECIES_256, 0xF0);
    private static final IntVector BYTE_SHIFTS =
            IntVector.fromArray(IntVector.SPECIES_256, new int[] {0, 8, 16, 24, 0, 8, 16, 24}, 0);

    /**
     * The min part {@code sum_b dmin_b * sum_s m_bs * sums[8b + s]} of a Q4_K/Q5_K row of {@code blocks} super-blocks
     * of {@code blockBytes} at {@code off} (each {@code fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, ...}),
     * given the sums of x per 32-value sub-block: per super-block one vector of its eight mins (broadcast, blend,
     * shift, mask and convert the packed bytes of {@link KQuants#mins8}) times its eight sums, instead of a sum of x
     * per element in the hot loop. Lane s accumulates sub-block s of every super-block; the lanes are added in order.
     */
    static float minDot(MemorySegment w, long off, int blockBytes, int blocks, float[] sums) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++) {
            long block = off + (long) b * blockBytes;
            long mins = KQuants.mins8(0, w.get(Blocks.INT_LE, block + 8), w.get(Blocks.INT_LE, block + 12));
            FloatVector m = (FloatVector) IntVector.broadcast(IntVector.SPECIES_256, (int) mins)
                    .blend((int) (mins >>> 32), HIGH4).lanewise(VectorOperators.LSHR, BYTE_SHIFTS).and(0xFF)
                    .convertShape(VectorOperators.I2F, F8, 0);
            FloatVector dmin = FloatVector.broadcast(F8, Blocks.half(w, block + 2));
            acc = m.mul(FloatVector.fromArray(F8, sums, 8 * b)).fma(dmin, acc);
        }
        return sum(acc);
    }

    static FloatVector toFloats(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F, 0);
    }
}
