package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix in ggml layout: {@code rows} rows of {@code cols} elements, each row stored contiguously
 * in the tensor's type (GGUF shape {@code [cols, rows]}). A 1-D tensor is a matrix with one row.
 */
public final class Matrix {
    /** Rows per tile of the matrix-matrix product: row ranges that are multiples of it waste no work. */
    public static final int GEMM_ROW_TILE = Gemm.MR;
    /** Packing buffer of {@link #matmul(float[], int, float[], int, int, int, int)}, one per thread. */
    private static final ThreadLocal<PackedActivations> PACKED = ThreadLocal.withInitial(PackedActivations::new);

    private final String name;
    private final GgmlType type;
    private final TypeKernel kernel;
    private final MemorySegment data;
    private final int cols;
    private final int rows;
    private final long rowBytes;

    public Matrix(String name, GgmlType type, MemorySegment data, int cols, int rows) {
        this.name = name;
        this.type = type;
        this.kernel = TypeKernels.of(type, name);
        this.data = data;
        this.cols = cols;
        this.rows = rows;
        if (cols <= 0 || rows < 0 || cols % type.blockSize != 0) {
            throw new MetagenException("tensor " + name + ": " + cols + " columns of " + type
                    + " is not a positive multiple of its block size " + type.blockSize);
        }
        this.rowBytes = type.byteSize(cols);
        if (data.byteSize() < rows * rowBytes) {
            throw new MetagenException("tensor " + name + ": " + rows + " rows of " + cols + " " + type + " need "
                    + rows * rowBytes + " bytes but only " + data.byteSize() + " are present");
        }
    }

    public String name() {
        return name;
    }

    public GgmlType type() {
        return type;
    }

    public int cols() {
        return cols;
    }

    public int rows() {
        return rows;
    }

    public MemorySegment data() {
        return data;
    }

    public TypeKernel kernel() {
        return kernel;
    }

    /** Dot product of row {@code row} with {@code x[xOff .. xOff + cols)}. */
    public float dot(int row, float[] x, int xOff) {
        return kernel.dot(data, row * rowBytes, x, xOff, cols);
    }

    /** {@code out[r] = dot(r, x)} for rows {@code [from, to)}. */
    public void matvec(float[] x, float[] out, int from, int to) {
        matvec(x, 0, out, 0, from, to);
    }

    /**
     * {@code out[outOff + r] = dot(r, x, xOff)} for rows {@code [from, to)} (decode): the type's
     * {@link TypeKernel#matvec}, equal bit for bit to {@link #dot} per row, so the result does not depend on the
     * row range.
     */
    public void matvec(float[] x, int xOff, float[] out, int outOff, int from, int to) {
        if (from < 0 || to > rows || from > to || xOff < 0 || (long) xOff + cols > x.length || outOff < 0
                || (long) outOff + to > out.length) {
            throw new MetagenException("matvec on " + name + " (" + rows + " x " + cols + "): bad range [" + from
                    + ", " + to + "), offsets " + xOff + "/" + outOff + ", buffers " + x.length + "/" + out.length);
        }
        kernel.matvec(data, rowBytes, cols, x, xOff, out, outOff, from, to);
    }

    /**
     * Fewer positions than this always take the type's matrix-vector product, one position at a time; from this many
     * on, a product may dequantize weight rows for the GEMM ({@link #matmul}) instead.
     */
    public static final int DEQUANT_POSITIONS = 4;

    /**
     * Most positions for which {@link #matvecs} is the cheaper product; from one more on, {@link #matmul} (the GEMM)
     * is. 1 when the type has no multi-vector kernel.
     */
    public int multiPositions() {
        return kernel.multiPositions();
    }

    /**
     * Whether {@code positions} positions are cheaper through {@link #matvecs} than through {@link #matmul}: fewer
     * than {@value #DEQUANT_POSITIONS}, or no more than the type's multi-vector kernel takes.
     */
    public boolean prefersMatvecs(int positions) {
        return positions < DEQUANT_POSITIONS || positions <= multiPositions();
    }

    /**
     * {@link #matvec} for {@code positions} vectors {@code xStride} apart from {@code xOff}, results
     * {@code outStride} apart from {@code outOff}: each output equal bit for bit to {@link #dot} of its row and
     * vector, whatever the other positions and the row range.
     */
    public void matvecs(float[] x, int xOff, int xStride, int positions, float[] out, int outOff, int outStride,
                        int from, int to) {
        if (from < 0 || to > rows || from > to || xOff < 0 || positions < 0 || xStride < cols || outStride < rows
                || outOff < 0 || (positions > 0 && ((long) xOff + (long) (positions - 1) * xStride + cols > x.length
                || (long) outOff + (long) (positions - 1) * outStride + to > out.length))) {
            throw new MetagenException("matvecs on " + name + " (" + rows + " x " + cols + "): bad range [" + from
                    + ", " + to + "), " + positions + " positions, strides " + xStride + "/" + outStride
                    + ", offsets " + xOff + "/" + outOff + ", buffers " + x.length + "/" + out.length);
        }
        if (positions >= DEQUANT_POSITIONS) { // the type's multi-vector kernel, or the default's loop over matvec
            kernel.matvecs(data, rowBytes, cols, x, xOff, xStride, positions, out, outOff, outStride, from, to);
            return;
        }
        // Decode (and fewer than DEQUANT_POSITIONS positions) calls the kernel's matvec from here, as it always has. Where every
        // type's row loop is the one default TypeKernel.matvec, its call of dot sees several kernel classes and
        // calls each dot compiled on its own; when Q8_0 decode went through matvecs instead, that call site saw only
        // Q5_0 and Q6_K in a Qwen2.5-0.5B Q4_K_M file, C2 inlined both dot bodies into the loop, some vector API
        // intrinsics then failed to inline, and decode ran at half speed (17 against 30 tokens/s).
        for (int p = 0; p < positions; p++) {
            kernel.matvec(data, rowBytes, cols, x, xOff + p * xStride, out, outOff + p * outStride, from, to);
        }
    }

    /**
     * {@code outs[b][r] = dot(r, xs[b])} for rows {@code [from, to)} and every vector b (prefill): each weight row
     * is read once from memory and reused from cache for all vectors.
     */
    public void matmul(float[][] xs, float[][] outs, int from, int to) {
        for (int r = from; r < to; r++) {
            long off = r * rowBytes;
            for (int b = 0; b < xs.length; b++) {
                outs[b][r] = kernel.dot(data, off, xs[b], 0, cols);
            }
        }
    }

    /**
     * Matrix-matrix product for {@code positions} vectors stored {@code inStride} apart in {@code in}:
     * {@code out[p * outStride + r] = dot of row r with in[p * inStride .. + cols)} for rows {@code [rowFrom, rowTo)}.
     * Packs the vectors and runs {@link #matmul(PackedActivations, float[], int, int, int)}; callers that split the
     * rows between threads should pack once and call that instead.
     */
    public void matmul(float[] in, int inStride, float[] out, int outStride, int positions, int rowFrom, int rowTo) {
        if (inStride < cols || positions < 0
                || (positions > 0 && (long) (positions - 1) * inStride + cols > in.length)) {
            throw new MetagenException("matmul on " + name + " (" + rows + " x " + cols + "): " + positions
                    + " positions with stride " + inStride + " do not fit an input of " + in.length);
        }
        matmul(PACKED.get().pack(in, inStride, cols, positions), out, outStride, rowFrom, rowTo);
    }

    /**
     * Matrix-matrix product with packed vectors: {@code out[p * outStride + r] = dot of row r with vector p} for rows
     * {@code [rowFrom, rowTo)}. Each weight row is dequantized once per call and register-tiled against all vectors
     * ({@link Gemm}); every output is the fused multiply-add sum of the dequantized row with its vector in column
     * order, so it does not depend on the row range, on how many positions are passed together, or on whether the
     * vector kernels run. For one vector, {@link #dot} on the stored row is faster.
     */
    public void matmul(PackedActivations x, float[] out, int outStride, int rowFrom, int rowTo) {
        int positions = x.positions();
        if (x.cols() != cols || rowFrom < 0 || rowTo > rows || rowFrom > rowTo || outStride < rows
                || (positions > 0 && (long) (positions - 1) * outStride + rows > out.length)) {
            throw new MetagenException("matmul on " + name + " (" + rows + " x " + cols + "): bad range [" + rowFrom
                    + ", " + rowTo + "), " + positions + " positions of " + x.cols() + " values, stride " + outStride
                    + ", output " + out.length);
        }
        if (TypeKernels.vectorized()) {
            Gemm.matmul(kernel, data, rowBytes, x, out, outStride, rowFrom, rowTo);
            return;
        }
        float[][] v = new float[positions][cols];
        for (int p = 0; p < positions; p++) {
            for (int k = 0; k < cols; k++) {
                v[p][k] = x.get(p, k);
            }
        }
        float[] row = new float[cols];
        for (int r = rowFrom; r < rowTo; r++) {
            dequantizeRow(r, row, 0);
            for (int p = 0; p < positions; p++) {
                out[p * outStride + r] = fmaDot(row, v[p], cols);
            }
        }
    }

    /** The sum the GEMM promises for one output: fused multiply-adds in column order, from zero. */
    private static float fmaDot(float[] w, float[] x, int n) {
        float s = 0;
        for (int k = 0; k < n; k++) {
            s = Math.fma(w[k], x[k], s);
        }
        return s;
    }

    public void dequantizeRow(int row, float[] out, int outOff) {
        kernel.dequantize(data, row * rowBytes, out, outOff, cols);
    }

    /** The whole tensor as floats (for small tensors: norms, biases). */
    public float[] toFloatArray() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            dequantizeRow(r, out, r * cols);
        }
        return out;
    }
}
