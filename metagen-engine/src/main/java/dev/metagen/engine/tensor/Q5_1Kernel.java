package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.INT_LE;
import static dev.metagen.engine.tensor.Blocks.half;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * ggml Q5_1 ({@code block_q5_1}): blocks of 32 as {@code {fp16 d; fp16 m; uint8 qh[4]; uint8 qs[16]}},
 * value = q * d + m with q's 5th bit in qh as in Q5_0. Scalar kernel.
 */
class Q5_1Kernel implements TypeKernel {
    static final int QK = 32;
    static final int BLOCK_BYTES = 24;

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int qh = w.get(INT_LE, block + 4);
            int xi = xOff + b * QK;
            float qx = 0;
            float sx = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 8 + j);
                int q0 = (q & 0xF) | (((qh >>> j) << 4) & 0x10);
                int q1 = (q >>> 4) | ((qh >>> (j + 12)) & 0x10);
                float x0 = x[xi + j];
                float x1 = x[xi + j + QK / 2];
                qx += q0 * x0 + q1 * x1;
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
            int qh = w.get(INT_LE, block + 4);
            int y = outOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 8 + j);
                out[y + j] = ((q & 0xF) | (((qh >>> j) << 4) & 0x10)) * d + m;
                out[y + j + QK / 2] = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) * d + m;
            }
        }
    }

    /** quantize_row_q5_1_ref: m = min, d = (max - min) / 31, q = (int) ((x - m) / d + 0.5). */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q5_1, src, off, n);
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
            float d = (max - min) / 31;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Blocks.putHalf(out, block, d);
            Blocks.putHalf(out, block + 2, min);
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                // ggml casts to uint8_t without clamping; (x - min) * id is at most 31 + rounding
                int q0 = (int) ((src[x + j] - min) * id + 0.5f) & 0xFF;
                int q1 = (int) ((src[x + j + QK / 2] - min) * id + 0.5f) & 0xFF;
                bytes[block + 8 + j] = (byte) ((q0 & 0xF) | ((q1 & 0xF) << 4));
                qh |= ((q0 & 0x10) >>> 4) << j;
                qh |= ((q1 & 0x10) >>> 4) << (j + QK / 2);
            }
            out.set(INT_LE, block + 4, qh);
        }
        return bytes;
    }
}
