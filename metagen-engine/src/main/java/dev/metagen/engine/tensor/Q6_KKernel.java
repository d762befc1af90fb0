package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.half;
import static dev.metagen.engine.tensor.Blocks.i8;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * ggml Q6_K ({@code block_q6_K}): super-blocks of 256 as {@code {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; fp16 d}}
 * (d is last). Per half of 128, element l + 32k (k = 0..3, l = 0..31) has low 4 bits from ql[l + 32(k&1)] (low
 * nibble for k < 2, high for k >= 2) and high 2 bits from qh[l] bits 2k..2k+1; value = d * scales[l/16 + 2k] * (q - 32).
 * Scalar reference kernel.
 */
class Q6_KKernel implements TypeKernel {
    static final int QK = KQuants.QK_K;
    static final int BLOCK_BYTES = 210;

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = half(w, block + 208);
            for (int h = 0; h < 2; h++) {
                long ql = block + 64L * h;
                long qh = block + 128 + 32L * h;
                long sc = block + 192 + 8L * h;
                int xi = xOff + b * QK + 128 * h;
                for (int half16 = 0; half16 < 2; half16++) {
                    // the 16 values of one scale, for each of the four 32-wide quarters
                    float s1 = 0, s2 = 0, s3 = 0, s4 = 0;
                    for (int l = 16 * half16; l < 16 * half16 + 16; l++) {
                        int a = u8(w, ql + l);
                        int c = u8(w, ql + 32 + l);
                        int hi = u8(w, qh + l);
                        s1 += (((a & 0xF) | ((hi & 3) << 4)) - 32) * x[xi + l];
                        s2 += (((c & 0xF) | (((hi >>> 2) & 3) << 4)) - 32) * x[xi + 32 + l];
                        s3 += (((a >>> 4) | (((hi >>> 4) & 3) << 4)) - 32) * x[xi + 64 + l];
                        s4 += (((c >>> 4) | (((hi >>> 6) & 3) << 4)) - 32) * x[xi + 96 + l];
                    }
                    sum += d * (i8(w, sc + half16) * s1 + i8(w, sc + half16 + 2) * s2
                            + i8(w, sc + half16 + 4) * s3 + i8(w, sc + half16 + 6) * s4);
                }
            }
        }
        return sum;
    }

    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK; b++) {
            long block = off + (long) b * BLOCK_BYTES;
            float d = half(w, block + 208);
            for (int h = 0; h < 2; h++) {
                long ql = block + 64L * h;
                long qh = block + 128 + 32L * h;
                long sc = block + 192 + 8L * h;
                int y = outOff + b * QK + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int a = u8(w, ql + l);
                    int c = u8(w, ql + 32 + l);
                    int hi = u8(w, qh + l);
                    out[y + l] = d * i8(w, sc + is) * (((a & 0xF) | ((hi & 3) << 4)) - 32);
                    out[y + 32 + l] = d * i8(w, sc + is + 2) * (((c & 0xF) | (((hi >>> 2) & 3) << 4)) - 32);
                    out[y + 64 + l] = d * i8(w, sc + is + 4) * (((a >>> 4) | (((hi >>> 4) & 3) << 4)) - 32);
                    out[y + 96 + l] = d * i8(w, sc + is + 6) * (((c >>> 4) | (((hi >>> 6) & 3) << 4)) - 32);
                }
            }
        }
    }

    /** quantize_row_q6_K_ref: make_qx_quants(16, 32, ...) per 16 values, 8-bit scales relative to fp16 d. */
    @Override
    public byte[] quantize(float[] src, int off, int n) {
        byte[] bytes = Blocks.quantizeBuffer(GgmlType.Q6_K, src, off, n);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        byte[] levels = new byte[QK];
        float[] scales = new float[QK / 16];
        for (int b = 0; b < n / QK; b++) {
            int x = off + b * QK;
            int block = b * BLOCK_BYTES;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < QK / 16; ib++) {
                float scale = KQuants.makeQxQuants(16, 32, src, x + 16 * ib, levels, 16 * ib);
                scales[ib] = scale;
                if (Math.abs(scale) > maxAbsScale) {
                    maxAbsScale = Math.abs(scale);
                    maxScale = scale;
                }
            }
            if (maxAbsScale < KQuants.GROUP_MAX_EPS) {
                continue; // an all-zero block: every byte (and d) stays 0
            }
            float iscale = -128.f / maxScale;
            Blocks.putHalf(seg, block + 208, 1 / iscale);
            for (int ib = 0; ib < QK / 16; ib++) {
                bytes[block + 192 + ib] = (byte) Math.min(127, Blocks.nearestInt(iscale * scales[ib]));
            }
            float d = half(seg, block + 208);
            for (int j = 0; j < QK / 16; j++) {
                float dj = d * bytes[block + 192 + j];
                if (dj == 0) {
                    continue;
                }
                for (int i = 0; i < 16; i++) {
                    int l = Blocks.nearestInt(src[x + 16 * j + i] / dj);
                    levels[16 * j + i] = (byte) (Math.max(-32, Math.min(31, l)) + 32);
                }
            }
            for (int h = 0; h < 2; h++) {
                int ql = block + 64 * h;
                int qh = block + 128 + 32 * h;
                int j = 128 * h;
                for (int l = 0; l < 32; l++) {
                    int q1 = levels[j + l], q2 = levels[j + l + 32], q3 = levels[j + l + 64], q4 = levels[j + l + 96];
                    bytes[ql + l] = (byte) ((q1 & 0xF) | ((q3 & 0xF) << 4));
                    bytes[ql + 32 + l] = (byte) ((q2 & 0xF) | ((q4 & 0xF) << 4));
                    bytes[qh + l] = (byte) ((q1 >>> 4) | ((q2 >>> 4) << 2) | ((q3 >>> 4) << 4) | ((q4 >>> 4) << 6));
                }
            }
        }
        return bytes;
    }
}
