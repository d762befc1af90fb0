package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.INT_LE;
import static dev.metagen.engine.tensor.Blocks.half;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * ggml Q5_0 ({@code block_q5_0}): blocks of 32 as {@code {fp16 d; uint8 qh[4]; uint8 qs[16]}}; the 5th bit of
 * element j is bit j of the little-endian uint32 qh; value = (q - 16) * d. Scalar kernel.
 */
class Q5_0Kernel implements TypeKernel {
    static final int QK = 32;
    static final int BLOCK_BYTES = 22;

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            int qh = w.get(INT_LE, block + 2);
            int xi = xOff + b * QK;
            float s = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 6 + j);
                int q0 = ((q & 0xF) | (((qh >>> j) << 4) & 0x10)) - 16;
                int q1 = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
                s += q0 * x[xi + j] + q1 * x[xi + j + QK / 2];
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
            int qh = w.get(INT_LE, block + 2);
            int y = outOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(w, block + 6 + j);
                out[y + j] = (((q & 0xF) | (((qh >>> j) << 4) & 0x10)) - 16) * d;
                out[y + j + QK / 2] = (((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * d;
            }
        }
    }

    /** quantize_row_q5_0_ref: d = (value of largest magnitude) / -16, q = min(31, (int) (x / d + 16.5)). */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q5_0, src, off, n);
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
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Blocks.putHalf(out, block, d);
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(31, (int) (src[x + j] * id + 16.5f));
                int q1 = Math.min(31, (int) (src[x + j + QK / 2] * id + 16.5f));
                bytes[block + 6 + j] = (byte) ((q0 & 0xF) | ((q1 & 0xF) << 4));
                qh |= ((q0 & 0x10) >>> 4) << j;
                qh |= ((q1 & 0x10) >>> 4) << (j + QK / 2);
            }
            out.set(INT_LE, block + 2, qh);
        }
        return bytes;
    }
}
