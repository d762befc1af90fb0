package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** IEEE-754 single precision, little-endian (ggml GGML_TYPE_F32); scalar reference kernel. */
class F32Kernel implements TypeKernel {
    static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += w.get(LE, off + 4L * i) * x[xOff + i];
        }
        return s;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        MemorySegment.copy(w, LE, off, out, outOff, n);
    }

    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] b = Blocks.quantizeBuffer(GgmlType.F32, src, off, n);
        MemorySegment.copy(src, off, MemorySegment.ofArray(b), LE, 0, n);
        return b;
    }
}
