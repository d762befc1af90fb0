package dev.metagen.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The numerical kernels of one ggml type: dot product of a stored row with a float vector, dequantization,
 * and quantization (for writing files). Offsets are in bytes into {@code w}; {@code n} is a multiple of the
 * type's block size.
 */
public interface TypeKernel {

    GgmlType type();

    /** {@code sum_i w[i] * x[xOff + i]} over {@code n} elements stored at byte offset {@code off}. */
    float dot(MemorySegment w, long off, float[] x, int xOff, int n);

    /**
     * Matrix-vector product over rows {@code [rowFrom, rowTo)} of a matrix stored {@code rowBytes} apart from byte 0
     * of {@code w}: {@code out[outOff + r] = dot(w, r * rowBytes, x, xOff, cols)}, bit for bit. Kernels override it
     * to do work that depends only on {@code x} once per call instead of once per row.
     */
    default void matvec(MemorySegment w, long rowBytes, int cols, float[] x, int xOff, float[] out, int outOff,
                        int rowFrom, int rowTo) {
        for (int r = rowFrom; r < rowTo; r++) {
            out[outOff + r] = dot(w, r * rowBytes, x, xOff, cols);
        }
    }

    /**
     * Most positions for which {@link #matvecs} is cheaper than dequantizing rows for the GEMM: kernels that read a
     * stored row once for several vectors say how many; 1 (the default) means it just repeats {@link #matvec}.
     */
    default int multiPositions() {
        return 1;
    }

    /**
     * {@link #matvec} for {@code positions} vectors stored {@code xStride} apart from {@code xOff}, results
     * {@code outStride} apart from {@code outOff}: each output equal bit for bit to {@link #dot} of its row and
     * vector, so a position's result does not depend on which others are computed with it.
     */
    default void matvecs(MemorySegment w, long rowBytes, int cols, float[] x, int xOff, int xStride, int positions,
                         float[] out, int outOff, int outStride, int rowFrom, int rowTo) {
        for (int p = 0; p < positions; p++) {
            matvec(w, rowBytes, cols, x, xOff + p * xStride, out, outOff + p * outStride, rowFrom, rowTo);
        }
    }

    /** Writes {@code n} dequantized elements stored at byte offset {@code off} into {@code out[outOff..]}. */
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n);

    /** Encodes {@code n} floats as this type, with the rounding ggml's reference quantizer uses. */
    byte[] quantize(float[] src, int off, int n);
}
