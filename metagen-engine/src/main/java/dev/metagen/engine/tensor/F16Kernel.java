package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.SHORT_LE;

/** IEEE-754 half precision, little-endian (ggml GGML_TYPE_F16); scalar reference kernel. */
class F16Kernel implements TypeKernel {

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Blocks.half(w, off + 2L * i) * x[xOff + i];
        }
        return s;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = Blocks.half(w, off + 2L * i);
        }
    }

    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] b = Blocks.quantizeBuffer(GgmlType.F16, src, off, n);
        MemorySegment out = MemorySegment.ofArray(b);
        for (int i = 0; i < n; i++) {
            out.set(SHORT_LE, 2L * i, Float.floatToFloat16(src[off + i])); // round to nearest even
        }
        return b;
    }
}
