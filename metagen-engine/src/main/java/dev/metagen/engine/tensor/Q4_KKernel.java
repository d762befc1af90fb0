package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.half;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * ggml Q4_K ({@code block_q4_K}): super-blocks of 256 as {@code {fp16 d; fp16 dmin; uint8 scales[12]; uint8 qs[128]}}.
 * Eight sub-blocks of 32 have 6-bit scale sc and min m ({@link KQuants#scaleMin}); value = d*sc*q - dmin*m.
 * Each 32 bytes of qs hold two sub-blocks: low nibbles the first, high nibbles the second. Scalar reference kernel.
 */
class Q4_KKernel implements TypeKernel {
    static final int QK = KQuants.QK_K;
    static final int BLOCK_BYTES = 144;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = half(w, block);
            float dmin = half(w, block + 2);
            for (int g = 0; g < 4; g++) {
                int sm1 = KQuants.scaleMin(w, block + 4, 2 * g);
                int sm2 = KQuants.scaleMin(w, block + 4, 2 * g + 1);
                long q = block + 16 + 32L * g;
                int xi = xOff + b * QK + 64 * g;
                float qx1 = 0, sx1 = 0, qx2 = 0, sx2 = 0;
                for (int l = 0; l < 32; l++) {
                    int v = u8(w, q + l);
                    float x1 = x[xi + l];
                    float x2 = x[xi + 32 + l];
                    qx1 += (v & 0xF) * x1;
                    sx1 += x1;
                    qx2 += (v >>> 4) * x2;
                    sx2 += x2;
                }
                sum += d * (sm1 & 0xFF) * qx1 - dmin * (sm1 >>> 8) * sx1
                        + d * (sm2 & 0xFF) * qx2 - dmin * (sm2 >>> 8) * sx2;
            }
        }
        return sum;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = half(w, block);
            float min = half(w, block + 2);
            int y = outOff + b * QK;
            for (int g = 0; g < 4; g++) {
                int sm1 = KQuants.scaleMin(w, block + 4, 2 * g);
                int sm2 = KQuants.scaleMin(w, block + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF);
                float m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF);
                float m2 = min * (sm2 >>> 8);
                long q = block + 16 + 32L * g;
                for (int l = 0; l < 32; l++) {
                    int v = u8(w, q + l);
                    out[y + 64 * g + l] = d1 * (v & 0xF) - m1;
                    out[y + 64 * g + 32 + l] = d2 * (v >>> 4) - m2;
                }
            }
        }
    }

    /** quantize_row_q4_K_ref: make_qkx2_quants(32, 15, ..., rmin -1, rdelta 0.1, 20 steps) per sub-block. */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q4_K, src, off, n);
        byte[] levels = new byte[QK];
        for (int b = 0; b < n / QK; b++) {
            int block = b * BLOCK_BYTES;
            KQuants.quantizeScaleMinBlock(src, off + b * QK, 15, -1.f, 0.1f, 20, bytes, block, levels);
            for (int g = 0; g < 4; g++) {
                for (int l = 0; l < 32; l++) {
                    bytes[block + 16 + 32 * g + l] = (byte) (levels[64 * g + l] | (levels[64 * g + 32 + l] << 4));
                }
            }
        }
        return bytes;
    }
}
