package dev.metagen.engine.tensor;

/**
 * The loop of {@link TypeKernel#matvecs} for kernels with a four-vector dot product: bands of {@value #BAND} rows;
 * within a band, each group of four vectors runs over all its rows, so the group's vectors stay in L1 across the
 * band instead of being read from L2 once per row, and the band's rows (34 KB of 2048-wide Q8_0) stay in L2 for
 * every group. Vectors left over after the groups of four take the type's dot product.
 */
final class MultiVectorProduct {
    /** Rows per band. */
    static final int BAND = 16;

    /** The dot products of the row at byte {@code off} with the four vectors {@code xStride} apart from {@code x0}. */
    interface Dot4 {
        void dot4(long off, int x0, int xStride, float[] out, int o, int outStride);
    }

    /** The dot product of the row at byte {@code off} with the vector at {@code xOff}. */
    interface Dot {
        float dot(long off, int xOff);
    }

    private MultiVectorProduct() {}

    static void run(long rowBytes, int xOff, int xStride, int positions, float[] out, int outOff, int outStride,
                    int rowFrom, int rowTo, Dot4 four, Dot one) {
        for (int r0 = rowFrom; r0 < rowTo; r0 += BAND) {
            int r1 = Math.min(rowTo, r0 + BAND);
            int p = 0;
            for (; p + 3 < positions; p += 4) {
                for (int r = r0; r < r1; r++) {
                    four.dot4(r * rowBytes, xOff + p * xStride, xStride, out, outOff + p * outStride + r, outStride);
                }
            }
            for (; p < positions; p++) {
                for (int r = r0; r < r1; r++) {
                    out[outOff + p * outStride + r] = one.dot(r * rowBytes, xOff + p * xStride);
                }
            }
        }
    }
}
