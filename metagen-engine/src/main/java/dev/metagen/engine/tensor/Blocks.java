package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian field access and the rounding helpers of ggml's reference quantizers (ggml-quants.c). */
final class Blocks {
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Blocks() {}

    /** The IEEE half at byte {@code off} as a float (ggml_fp16_t, GGML_FP16_TO_FP32). */
    static float half(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(SHORT_LE, off));
    }

    /** Unsigned byte at {@code off}. */
    static int u8(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /** Signed byte at {@code off}. */
    static int i8(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off);
    }

    static void putHalf(MemorySegment out, long off, float v) {
        out.set(SHORT_LE, off, Float.floatToFloat16(v)); // round to nearest even, like GGML_FP32_TO_FP16
    }

    /**
     * ggml's {@code nearest_int}: adds 1.5 * 2^23 so the FPU rounds to nearest even, then reads the mantissa.
     * Reproduced bit for bit (not Math.rint) so that out-of-range inputs map the same way too.
     */
    static int nearestInt(float v) {
        int i = Float.floatToRawIntBits(v + 12582912.f);
        return (i & 0x007fffff) - 0x00400000;
    }

    /** C {@code roundf}: halves away from zero (Math.round rounds -2.5 to -2, roundf to -3). */
    static int roundf(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    /** Checks a quantize request and returns the output buffer for {@code n} elements of {@code type}. */
    static byte[] quantizeBuffer(GgmlType type, float[] src, int off, int n) {
        if (n < 0 || off < 0 || off > src.length - n) {
            throw new MetagenException("cannot quantize " + n + " values at offset " + off + " of an array of "
                    + src.length + " as " + type);
        }
        if (n % type.blockSize != 0) {
            throw new MetagenException("cannot quantize " + n + " values as " + type + ": the count must be a multiple of "
                    + type.blockSize);
        }
        return new byte[Math.toIntExact(type.byteSize(n))];
    }
}
