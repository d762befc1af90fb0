package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.half;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * ggml Q4_1 ({@code block_q4_1}): blocks of 32 as {@code {fp16 d; fp16 m; uint8 qs[16]}}, value = nibble * d + m
 * (low nibbles are elements 0..15, high nibbles 16..31). Scalar kernel.
 */
class Q4_1Kernel implements TypeKernel {
    static final int QK = 32;
    static final int BLOCK_BYTES = 20;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK;
            float qx = 0;
            float sx = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 4 + j);
                float x0 = x[xi + j];
                float x1 = x[xi + j + QK / 2];
                qx += (q & 0xF) * x0 + (q >>> 4) * x1;
                sx += x0 + x1;
            }
            sum += half(w, block) * qx + half(w, block + 2) * sx;
        }
        return sum;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = half(w, block);
            float m = half(w, block + 2);
            int y = outOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 4 + j);
                out[y + j] = (q & 0xF) * d + m;
                out[y + j + QK / 2] = (q >>> 4) * d + m;
            }
        }
    }

    /** quantize_row_q4_1_ref: m = min, d = (max - min) / 15, q = min(15, (int) ((x - m) / d + 0.5)). */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q4_1, src, off, n);
        MemorySegment out = MemorySegment.ofArray(bytes);
        for (int b = 0; b < n / QK; b++) {
            int x = off + b * QK;
            int block = b * BLOCK_BYTES;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < QK; j++) {
                min = Math.min(min, src[x + j]);
                max = Math.max(max, src[x + j]);
            }
            float d = (max - min) / 15;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Blocks.putHalf(out, block, d);
            Blocks.putHalf(out, block + 2, min);
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(15, (int) ((src[x + j] - min) * id + 0.5f));
                int q1 = Math.min(15, (int) ((src[x + j + QK / 2] - min) * id + 0.5f));
                bytes[block + 4 + j] = (byte) (q0 | (q1 << 4));
            }
        }
        return bytes;
    }
}
