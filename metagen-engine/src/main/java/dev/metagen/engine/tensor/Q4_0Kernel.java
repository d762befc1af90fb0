package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.half;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * ggml Q4_0 ({@code block_q4_0}): blocks of 32 as {@code {fp16 d; uint8 qs[16]}}; element j is the low nibble of
 * qs[j], element j+16 the high nibble, value = (nibble - 8) * d. Scalar reference kernel.
 */
class Q4_0Kernel implements TypeKernel {
    static final int QK = 32;
    static final int BLOCK_BYTES = 18;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            float s = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 2 + j);
                s += ((q & 0xF) - 8) * x[xi + j] + ((q >>> 4) - 8) * x[xi + j + QK / 2];
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
            int y = outOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 2 + j);
                out[y + j] = ((q & 0xF) - 8) * d;
                out[y + j + QK / 2] = ((q >>> 4) - 8) * d;
            }
        }
    }

    /** quantize_row_q4_0_ref: d = (value of largest magnitude) / -8, q = min(15, (int) (x / d + 8.5)). */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q4_0, src, off, n);
        MemorySegment out = MemorySegment.ofArray(bytes);
        for (int b = 0; b < n / QK; b++) {
            int x = off + b * QK;
            int block = b * BLOCK_BYTES;
            float amax = 0;
            float max = 0;
            for (int j = 0; j < QK; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Blocks.putHalf(out, block, d);
            for (int j = 0; j < QK / 2; j++) {
                // (int) truncates toward zero like C's (int8_t) cast; the argument is >= 0.5 here
                int q0 = Math.min(15, (int) (src[x + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (src[x + j + QK / 2] * id + 8.5f));
                bytes[block + 2 + j] = (byte) (q0 | (q1 << 4));
            }
        }
        return bytes;
    }
}
