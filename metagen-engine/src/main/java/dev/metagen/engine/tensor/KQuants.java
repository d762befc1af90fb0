package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.metagen.engine.tensor.Blocks.nearestInt;
import static dev.metagen.engine.tensor.Blocks.u8;

/**
 * Shared pieces of ggml's k-quants (ggml-quants.c, PR #1684): the 6-bit packed scale/min pairs of Q4_K/Q5_K and
 * the reference scale searches {@code make_qkx2_quants} and {@code make_qx_quants}.
 */
final class KQuants {
    static final int QK_K = 256;
    static final float GROUP_MAX_EPS = 1e-15f;

    private KQuants() {}

    /**
     * get_scale_min_k4: sub-block {@code j} (0..7) of the 12 packed bytes at {@code scales}; returns
     * {@code scale | min << 8}. Sub-blocks 0..3 use the low 6 bits of bytes j and j+4; 4..7 take their low 4 bits
     * from byte j+4's nibbles and their top 2 bits from the spare high bits of bytes j-4 and j.
     */
    static int scaleMin(MemorySegment w, long scales, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = u8(w, scales + j) & 63;
            m = u8(w, scales + j + 4) & 63;
        } else {
            sc = (u8(w, scales + j + 4) & 0xF) | ((u8(w, scales + j - 4) >>> 6) << 4);
            m = (u8(w, scales + j + 4) >>> 4) | ((u8(w, scales + j) >>> 6) << 4);
        }
        return sc | (m << 8);
    }

    /**
     * All eight 6-bit scales of the 12 packed bytes whose little-endian ints are {@code u0, u1, u2}, byte j of the
     * result being sub-block j's scale (as {@link #scaleMin}, ggml's kmask/utmp form): three loads per super-block
     * instead of up to three byte loads per sub-block in the vector kernels' hot loop.
     */
    static long scales8(int u0, int u1, int u2) {
        int lo = u0 & 0x3f3f3f3f;
        int hi = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        return (lo & 0xFFFFFFFFL) | ((long) hi << 32);
    }

    /** As {@link #scales8} for the eight 6-bit mins. */
    static long mins8(int u0, int u1, int u2) {
        int lo = u1 & 0x3f3f3f3f;
        int hi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        return (lo & 0xFFFFFFFFL) | ((long) hi << 32);
    }

    /** Inverse of {@link #scaleMin}: packs eight 6-bit scales and mins into 12 bytes at {@code out[at..]}. */
    static void packScaleMins(byte[] out, int at, int[] ls, int[] lm) {
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                out[at + j] = (byte) ls[j];
                out[at + j + 4] = (byte) lm[j];
            } else {
                out[at + j + 4] = (byte) ((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
                out[at + j - 4] |= (byte) ((ls[j] >>> 4) << 6);
                out[at + j] |= (byte) ((lm[j] >>> 4) << 6);
            }
        }
    }

    /**
     * make_qkx2_quants: chooses scale and min for {@code n} values {@code x[xo..]} on the grid
     * {@code scale * l - min, l in [0, nmax]} by a weighted least-squares search over {@code nstep + 1} trial
     * inverse scales; writes the levels to {@code levels[lo..]}, the min (as a positive offset) to {@code minOut[0]},
     * and returns the scale.
     */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] weights, byte[] levels, int lo,
                                float[] minOut, float rmin, float rdelta, int nstep) {
        float min = x[xo];
        float max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float v = x[xo + i];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                levels[lo + i] = 0;
            }
            minOut[0] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[xo + i] - min))));
            levels[lo + i] = (byte) l;
            float diff = scale * l + min - x[xo + i];
            bestError += weights[i] * (diff * diff);
        }
        byte[] aux = new byte[n];
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[xo + i] - min))));
                aux[i] = (byte) l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float err = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * (aux[i] & 0xFF) + thisMin - x[xo + i];
                    err += weights[i] * (diff * diff);
                }
                if (err < bestError) {
                    System.arraycopy(aux, 0, levels, lo, n);
                    bestError = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        minOut[0] = -min;
        return scale;
    }

    /**
     * make_qx_quants with rmse_type 1 and no importance weights (as quantize_row_q6_K_ref calls it): symmetric
     * levels {@code l in [-nmax, nmax)} stored as {@code l + nmax}, scale fitted by least squares weighted by x^2
     * over 19 trial inverse scales. Returns the scale (negative when the largest-magnitude value is positive).
     */
    static float makeQxQuants(int n, int nmax, float[] x, int xo, byte[] levels, int lo) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                levels[lo + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
            levels[lo + i] = (byte) (l + nmax);
            float w = v * v;
            sumLX += w * v * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0.0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * v)));
                float w = v * v;
                sumLX += w * v * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[xo + i])));
                    levels[lo + i] = (byte) (l + nmax);
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /**
     * The shared scale/min stage of quantize_row_q4_K_ref and quantize_row_q5_K_ref for one super-block of 256 at
     * {@code x[xo..]}: per 32-value sub-block a make_qkx2_quants fit, then 6-bit scales and mins relative to the
     * fp16 super-block {@code d} and {@code dmin}, then the final levels re-derived from the quantized scales.
     * Writes d, dmin and the 12 scale bytes at {@code out[at..at + 16)} and the levels (0..nmax) to {@code levels}.
     */
    static void quantizeScaleMinBlock(float[] x, int xo, int nmax, float rmin, float rdelta, int nstep,
                                      byte[] out, int at, byte[] levels) {
        float[] scales = new float[8];
        float[] mins = new float[8];
        float[] weights = new float[32];
        float[] minOut = new float[1];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
            }
            scales[j] = makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, levels, 32 * j, minOut, rmin, rdelta, nstep);
            mins[j] = minOut[0];
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int[] ls = new int[8];
        int[] lm = new int[8];
        for (int j = 0; j < 8; j++) {
            // ggml stores nearest_int into a uint8_t before MIN(63, .): keep that truncation
            ls[j] = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            lm[j] = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
        }
        MemorySegment seg = MemorySegment.ofArray(out);
        Blocks.putHalf(seg, at, maxScale / 63.f);
        Blocks.putHalf(seg, at + 2, maxMin / 63.f);
        packScaleMins(out, at + 4, ls, lm);
        float d = Blocks.half(seg, at);
        float dmin = Blocks.half(seg, at + 2);
        for (int j = 0; j < 8; j++) {
            int sm = scaleMin(seg, at + 4, j);
            float dj = d * (sm & 0xFF);
            if (dj == 0) {
                continue; // keep make_qkx2_quants' levels, as ggml does
            }
            float dm = dmin * (sm >>> 8);
            for (int i = 0; i < 32; i++) {
                int l = nearestInt((x[xo + 32 * j + i] + dm) / dj);
                levels[32 * j + i] = (byte) Math.max(0, Math.min(nmax, l));
            }
        }
    }
}
