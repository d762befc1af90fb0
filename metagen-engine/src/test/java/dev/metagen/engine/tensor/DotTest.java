package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Dot products: the registered (vector) kernel, the scalar blockwise kernel and a double-precision sum over the
 * dequantized row agree, for 1..several blocks at unaligned offsets in native memory, on random bit patterns and on
 * extreme values. Tolerance: |a - b| <= 2e-5 * sum_i |w_i x_i| + 1e-30, i.e. float accumulation error relative to
 * the magnitude of the terms (a relative error of the result itself is meaningless when terms cancel).
 */
class DotTest {
    private static final List<GgmlType> TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
    private static final double REL = 2e-5;

    /** Byte offsets of the fp16 scale fields in one block (randomised bytes elsewhere are all valid data). */
    private static int[] halfFields(GgmlType t) {
        return switch (t) {
            case Q8_0, Q4_0, Q5_0 -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> null;
        };
    }

    /** {@code blocks} blocks of {@code t}: random bytes with sane random scales, or quantized random floats. */
    static byte[] randomRow(GgmlType t, int n, SplittableRandom r) {
        int[] halves = halfFields(t);
        if (halves == null) {
            float[] x = RoundTripTest.gaussian(r.nextLong(), n);
            return TypeKernels.of(t, "t").quantize(x, 0, n);
        }
        byte[] b = new byte[(int) t.byteSize(n)];
        r.nextBytes(b);
        for (int blk = 0; blk < n / t.blockSize; blk++) {
            for (int h : halves) {
                short bits = Float.floatToFloat16((float) (r.nextDouble(-1, 1) * 0.1));
                b[blk * t.typeSize + h] = (byte) bits;
                b[blk * t.typeSize + h + 1] = (byte) (bits >> 8);
            }
        }
        return b;
    }

    private static void compare(GgmlType t, MemorySegment w, long off, float[] x, int xOff, int n, String what) {
        float[] row = new float[n];
        TypeKernels.scalar(t).dequantize(w, off, row, 0, n);
        double ref = 0;
        double mag = 0;
        for (int i = 0; i < n; i++) {
            ref += (double) row[i] * x[xOff + i];
            mag += Math.abs((double) row[i] * x[xOff + i]);
        }
        double tol = REL * mag + 1e-30;
        float vector = TypeKernels.of(t, "t").dot(w, off, x, xOff, n);
        float scalar = TypeKernels.scalar(t).dot(w, off, x, xOff, n);
        assertEquals(ref, scalar, tol, t + " scalar vs double, " + what);
        assertEquals(ref, vector, tol, t + " registered vs double, " + what);
        assertEquals(scalar, vector, tol, t + " registered vs scalar, " + what);
    }

    @Test
    void registeredScalarAndDoubleAgree() {
        SplittableRandom r = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                int bs = t.blockSize;
                // element types: lengths that are not multiples of the vector width; block types: 1..several blocks
                int[] lengths = bs == 1 ? new int[] {1, 3, 7, 8, 9, 16, 17, 31, 64, 100, 257, 1000}
                        : bs == 32 ? new int[] {32, 64, 96, 160, 1024} : new int[] {256, 512, 768, 2048};
                for (int n : lengths) {
                    for (int trial = 0; trial < 3; trial++) {
                        byte[] bytes = randomRow(t, n, r);
                        long off = r.nextInt(1, 64); // unaligned start inside native memory, like a tensor in an mmap
                        MemorySegment seg = arena.allocate(off + bytes.length + 7, 1);
                        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, off, bytes.length);
                        int xOff = r.nextInt(0, 9);
                        float[] x = new float[xOff + n + r.nextInt(0, 5)];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = (float) r.nextDouble(-2, 2);
                        }
                        compare(t, seg, off, x, xOff, n, "n=" + n + " off=" + off + " xOff=" + xOff);
                    }
                }
            }
        }
    }

    @Test
    void extremeValues() {
        SplittableRandom r = new SplittableRandom(11);
        for (GgmlType t : TYPES) {
            int n = Math.max(t.blockSize, 64) * 2;
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                // huge and tiny weights side by side; F16 tops out at 65504, so stay below it for every type
                w[i] = (float) (i % 3 == 0 ? r.nextDouble(-60000, 60000) : r.nextDouble(-1e-3, 1e-3));
            }
            byte[] bytes = TypeKernels.of(t, "t").quantize(w, 0, n);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (i % 5 == 0 ? r.nextDouble(-1e4, 1e4) : r.nextDouble(-1e-4, 1e-4));
            }
            compare(t, MemorySegment.ofArray(bytes), 0, x, 0, n, "extreme values");
            // all-max nibbles / bytes: every level at its top, against x = 1
            byte[] top = randomRow(t, n, r);
            if (halfFields(t) != null) {
                for (int blk = 0; blk < n / t.blockSize; blk++) {
                    for (int i = 0; i < t.typeSize; i++) {
                        boolean isHalf = false;
                        for (int h : halfFields(t)) {
                            isHalf |= i == h || i == h + 1;
                        }
                        if (!isHalf) {
                            top[blk * t.typeSize + i] = (byte) (t == GgmlType.Q8_0 ? 0x7F : 0xFF);
                        }
                    }
                }
            }
            float[] ones = new float[n];
            java.util.Arrays.fill(ones, 1f);
            compare(t, MemorySegment.ofArray(top), 0, ones, 0, n, "top levels");
        }
    }

    /**
     * The checks above run briefly, mostly before C2 compiles the Vector API calls into SIMD instructions; here each
     * vector kernel is called until it is hot, then compared again, so the intrinsified path is the one checked, and
     * its result must be bit-identical to the cold (interpreted) one.
     */
    @Test
    void compiledVectorPathAgrees() {
        assumeTrue(TypeKernels.vectorized());
        SplittableRandom r = new SplittableRandom(5);
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K,
                GgmlType.Q6_K)) {
            int n = t.blockSize == 1 ? 37 : t.blockSize == 32 ? 64 : 256;
            MemorySegment w = MemorySegment.ofArray(randomRow(t, n, r));
            float[] x = new float[n + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            float[] cold = new float[4];
            for (int xOff = 0; xOff < 4; xOff++) {
                cold[xOff] = TypeKernels.of(t, "t").dot(w, 0, x, xOff, n);
            }
            float sink = 0;
            for (int i = 0; i < 12000; i++) {
                sink += TypeKernels.of(t, "t").dot(w, 0, x, i & 3, n);
            }
            assertTrue(Float.isFinite(sink));
            // bit-identical before and after JIT compilation, so batched and sequential forwards agree exactly
            for (int xOff = 0; xOff < 4; xOff++) {
                assertEquals(Float.floatToRawIntBits(cold[xOff]),
                        Float.floatToRawIntBits(TypeKernels.of(t, "t").dot(w, 0, x, xOff, n)), t + " cold vs hot");
            }
            for (int xOff = 0; xOff < 4; xOff++) {
                compare(t, w, 0, x, xOff, n, "after warm-up, xOff=" + xOff);
            }
        }
    }

    /**
     * {@link TypeKernel#matvec} over odd row ranges equals {@code dot} per row bit for bit, for every type, at an
     * unaligned matrix start and vector/output offsets, both before and after the JIT compiles it, and writes no row
     * outside its range; its results stay within the dot product tolerance of the scalar kernel and of the double sum.
     */
    @Test
    void matvecEqualsDotBitwise() {
        SplittableRandom r = new SplittableRandom(13);
        int rows = 7;
        int[][] ranges = {{0, 7}, {1, 4}, {3, 3}, {2, 7}, {6, 7}, {0, 1}};
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                int cols = t.blockSize == 1 ? 37 : t.blockSize == 32 ? 96 : 512;
                TypeKernel k = TypeKernels.of(t, "t");
                long rowBytes = t.byteSize(cols);
                long start = r.nextInt(1, 64);
                MemorySegment seg = arena.allocate(start + rows * rowBytes, 1);
                for (int row = 0; row < rows; row++) {
                    MemorySegment.copy(MemorySegment.ofArray(randomRow(t, cols, r)), 0, seg, start + row * rowBytes,
                            rowBytes);
                }
                MemorySegment w = seg.asSlice(start);
                int xOff = 5;
                float[] x = new float[xOff + cols + 3];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextDouble(-2, 2);
                }
                int outOff = 3;
                float[][] cold = new float[ranges.length][];
                for (int round = 0; round < 2; round++) {
                    for (int i = 0; i < ranges.length; i++) {
                        int from = ranges[i][0];
                        int to = ranges[i][1];
                        float[] out = new float[outOff + rows + 2];
                        java.util.Arrays.fill(out, Float.NaN);
                        k.matvec(w, rowBytes, cols, x, xOff, out, outOff, from, to);
                        for (int j = 0; j < out.length; j++) {
                            int row = j - outOff;
                            String what = t + " rows [" + from + ", " + to + ") row " + row + (round == 0 ? "" : " hot");
                            if (row < from || row >= to) {
                                assertTrue(Float.isNaN(out[j]), what + " written outside the range");
                                continue;
                            }
                            float dot = k.dot(w, row * rowBytes, x, xOff, cols);
                            assertEquals(Float.floatToRawIntBits(dot), Float.floatToRawIntBits(out[j]), what);
                            if (round == 0) {
                                compare(t, w, row * rowBytes, x, xOff, cols, "matvec " + what);
                            }
                        }
                        if (round == 0) {
                            cold[i] = out;
                        } else {
                            assertArrayEquals(cold[i], out, t + " rows [" + from + ", " + to + ") cold vs hot");
                        }
                    }
                    // between the rounds: run matvec until C2 has compiled it
                    float[] sink = new float[rows];
                    for (int i = 0; round == 0 && i < 4000; i++) {
                        k.matvec(w, rowBytes, cols, x, i & 3, sink, 0, 0, rows);
                    }
                }
            }
        }
    }

    /**
     * {@link TypeKernel#matvecs} equals {@code dot} of each row and vector bit for bit, for every type and every
     * position count from 1 to past {@link TypeKernel#multiPositions}, with padded strides and odd row ranges, before
     * and after the JIT compiles it, and writes nothing outside its rows and positions.
     */
    @Test
    void matvecsEqualsDotBitwise() {
        SplittableRandom r = new SplittableRandom(29);
        int rows = 6;
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                int cols = t.blockSize == 1 ? 37 : t.blockSize == 32 ? 96 : 512;
                TypeKernel k = TypeKernels.of(t, "t");
                long rowBytes = t.byteSize(cols);
                MemorySegment w = arena.allocate(rows * rowBytes, 1);
                for (int row = 0; row < rows; row++) {
                    MemorySegment.copy(MemorySegment.ofArray(randomRow(t, cols, r)), 0, w, row * rowBytes, rowBytes);
                }
                int maxPositions = Math.max(k.multiPositions(), 4) + 2;
                int xOff = 3;
                int xStride = cols + 5;
                int outOff = 2;
                int outStride = rows + 3;
                float[] x = new float[xOff + maxPositions * xStride];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextDouble(-2, 2);
                }
                for (int round = 0; round < 2; round++) {
                    for (int positions = 1; positions <= maxPositions; positions++) {
                        int from = positions % 3 == 0 ? 1 : 0;
                        int to = positions % 2 == 0 ? rows : rows - 1;
                        float[] out = new float[outOff + maxPositions * outStride];
                        java.util.Arrays.fill(out, Float.NaN);
                        k.matvecs(w, rowBytes, cols, x, xOff, xStride, positions, out, outOff, outStride, from, to);
                        for (int j = 0; j < out.length; j++) {
                            int p = (j - outOff) / outStride;
                            int row = (j - outOff) % outStride;
                            String what = t + " " + positions + " positions, rows [" + from + ", " + to + "), position "
                                    + p + " row " + row + (round == 0 ? "" : " hot");
                            if (j < outOff || p >= positions || row < from || row >= to) {
                                assertTrue(Float.isNaN(out[j]), what + " written outside the range");
                                continue;
                            }
                            float dot = k.dot(w, row * rowBytes, x, xOff + p * xStride, cols);
                            assertEquals(Float.floatToRawIntBits(dot), Float.floatToRawIntBits(out[j]), what);
                        }
                    }
                    float[] sink = new float[maxPositions * outStride];
                    for (int i = 0; round == 0 && i < 3000; i++) { // between the rounds: until C2 has compiled it
                        k.matvecs(w, rowBytes, cols, x, i & 1, xStride, 1 + i % maxPositions, sink, 0, outStride, 0,
                                rows);
                    }
                }
            }
        }
    }

    /** The vector F16 widening equals Float.float16ToFloat on all 65536 bit patterns (incl. subnormals, inf, NaN). */
    @Test
    void f16VectorConversionIsExactOnEveryHalf() {
        assumeTrue(TypeKernels.vectorized());
        MemorySegment all = MemorySegment.ofArray(new short[65536]);
        for (int i = 0; i < 65536; i++) {
            all.set(Blocks.SHORT_LE, 2L * i, (short) i);
        }
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        float[] out = new float[lanes];
        for (int i = 0; i < 65536; i += lanes) {
            F16VectorKernel.load(all, 2L * i).intoArray(out, 0);
            for (int j = 0; j < lanes; j++) {
                float e = Float.float16ToFloat((short) (i + j));
                if (Float.isNaN(e)) {
                    assertTrue(Float.isNaN(out[j]), "half 0x" + Integer.toHexString(i + j));
                } else {
                    assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(out[j]),
                            "half 0x" + Integer.toHexString(i + j));
                }
            }
        }
    }

    /** On a machine with 256- or 512-bit vectors, TypeKernels hands out the vector kernels. */
    @Test
    void vectorKernelsAreRegistered() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        assumeTrue(lanes == 8 || lanes == 16, "preferred float species has " + lanes + " lanes");
        assumeTrue(!"false".equals(System.getProperty("metagen.vector")), "vector kernels switched off");
        assertTrue(TypeKernels.vectorized());
        assertInstanceOf(F32VectorKernel.class, TypeKernels.of(GgmlType.F32, "t"));
        assertInstanceOf(F16VectorKernel.class, TypeKernels.of(GgmlType.F16, "t"));
        assertInstanceOf(BF16VectorKernel.class, TypeKernels.of(GgmlType.BF16, "t"));
        assertInstanceOf(Q8_0VectorKernel.class, TypeKernels.of(GgmlType.Q8_0, "t"));
        assertInstanceOf(Q4_0VectorKernel.class, TypeKernels.of(GgmlType.Q4_0, "t"));
        assertInstanceOf(Q5_0VectorKernel.class, TypeKernels.of(GgmlType.Q5_0, "t"));
        assertInstanceOf(Q4_KVectorKernel.class, TypeKernels.of(GgmlType.Q4_K, "t"));
        assertInstanceOf(Q5_KVectorKernel.class, TypeKernels.of(GgmlType.Q5_K, "t"));
        assertInstanceOf(Q6_KVectorKernel.class, TypeKernels.of(GgmlType.Q6_K, "t"));
        assertEquals(Q8_0Kernel.class, TypeKernels.scalar(GgmlType.Q8_0).getClass());
    }
}
