package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.metagen.engine.tensor.Blocks.half;

/**
 * ggml Q8_0 (ggml-common.h {@code block_q8_0}): blocks of 32 as {@code {fp16 d; int8 qs[32]}}, value = qs[i] * d.
 * Scalar reference kernel.
 */
class Q8_0Kernel implements TypeKernel {
    static final int QK = 32;
    static final int BLOCK_BYTES = 34;

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            float s = 0;
            for (int j = 0; j < QK; j++) {
                s += w.get(ValueLayout.JAVA_BYTE, block + 2 + j) * x[xi + j];
            }
            sum += half(w, block) * s;
        }
        return sum;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = half(w, block);
            for (int j = 0; j < QK; j++) {
                out[outOff + b * QK + j] = w.get(ValueLayout.JAVA_BYTE, block + 2 + j) * d;
            }
        }
    }

    /** quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d). */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q8_0, src, off, n);
        MemorySegment out = MemorySegment.ofArray(bytes);
        for (int b = 0; b < n / QK; b++) {
            int x = off + b * QK;
            long block = (long) b * BLOCK_BYTES;
            float amax = 0;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(src[x + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Blocks.putHalf(out, block, d);
            for (int j = 0; j < QK; j++) {
                bytes[(int) block + 2 + j] = (byte) Blocks.roundf(src[x + j] * id);
            }
        }
        return bytes;
    }
}
