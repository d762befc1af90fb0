package dev.metagen.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
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
        float[] lanes = new float[L];
        v.intoArray(lanes, 0);
        float s = 0;
        for (float f : lanes) {
            s += f;
        }
        return s;
    }

    static FloatVector toFloats(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F, 0);
    }
}
