package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.SHORT_LE;

/** bfloat16 (ggml GGML_TYPE_BF16): the upper 16 bits of an IEEE single; rounding as ggml_compute_fp32_to_bf16. */
class BF16Kernel implements TypeKernel {

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round to nearest even on the dropped 16 bits; NaNs stay NaN with the quiet bit forced (ggml.h). */
    static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += toFloat(w.get(SHORT_LE, off + 2L * i)) * x[xOff + i];
        }
        return s;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = toFloat(w.get(SHORT_LE, off + 2L * i));
        }
    }

    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] b = Blocks.quantizeBuffer(GgmlType.BF16, src, off, n);
        MemorySegment out = MemorySegment.ofArray(b);
        for (int i = 0; i < n; i++) {
            out.set(SHORT_LE, 2L * i, fromFloat(src[off + i]));
        }
        return b;
    }
}
