package dev.metagen.engine.tensor;

import dev.metagen.engine.testing.AlternatingRounds;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Manual timing, not a test: single-thread GFLOP/s of the prefill matrix product of a {@code rows x cols} matrix
 * of one type with {@code positions} vectors, by the register-tiled GEMM (activations packed once, as the model
 * does), the earlier prefill path (dequantize a row, then a float dot per position) and the type's dot product per
 * (row, position), and the type's multi-vector product ({@link Matrix#matvecs}). Methods alternate in rounds timed
 * in thread CPU time and the best round of each counts, so a shared machine's load hurts all alike. Run from the
 * repository root after test-compile:
 * {@code java --add-modules jdk.incubator.vector -cp metagen-engine/target/classes:metagen-engine/target/test-classes:metagen-core/target/classes dev.metagen.engine.tensor.GemmThroughput Q8_0 2048 2048 32}
 */
public final class GemmThroughput {

    public static void main(String[] args) {
        GgmlType type = GgmlType.valueOf(args.length > 0 ? args[0] : "Q8_0");
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 2048;
        int positions = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        TypeKernel k = TypeKernels.of(type, "w");
        long rowBytes = type.byteSize(cols);
        MemorySegment w = Arena.global().allocate(rowBytes * rows, 64);
        for (int r = 0; r < rows; r++) {
            byte[] q = k.quantize(Samples.gaussian(r, cols), 0, cols);
            MemorySegment.copy(MemorySegment.ofArray(q), 0, w, r * rowBytes, rowBytes);
        }
        Matrix m = new Matrix("w", type, w, cols, rows);
        float[] in = Samples.gaussian(-1, positions * cols);
        float[] out = new float[positions * rows];
        float[] row = new float[cols];
        PackedActivations packed = new PackedActivations().pack(in, cols, cols, positions);
        Runnable gemm = () -> m.matmul(packed, out, rows, 0, rows);
        Runnable rowdot = () -> {
            for (int j = 0; j < rows; j++) {
                m.dequantizeRow(j, row, 0);
                for (int p = 0; p < positions; p++) {
                    float s = 0;
                    // the previous path's float dot (FloatDot): one vector accumulator
                    jdk.incubator.vector.FloatVector acc = jdk.incubator.vector.FloatVector.zero(Simd.F);
                    for (int i = 0; i < cols; i += Simd.L) {
                        acc = jdk.incubator.vector.FloatVector.fromArray(Simd.F, row, i)
                                .fma(jdk.incubator.vector.FloatVector.fromArray(Simd.F, in, p * cols + i), acc);
                    }
                    out[p * rows + j] = s + Simd.sum(acc);
                }
            }
        };
        Runnable dot = () -> {
            for (int j = 0; j < rows; j++) {
                for (int p = 0; p < positions; p++) {
                    out[p * rows + j] = m.dot(j, in, p * cols);
                }
            }
        };
        Runnable matvecs = () -> m.matvecs(in, 0, cols, positions, out, 0, rows, 0, rows);
        String[] names = {"gemm", "dequantized row + float dot", "type dot per position", "matvecs (multi-vector dot)"};
        Runnable[] passes = {gemm, rowdot, dot, matvecs};
        double gflop = 2.0 * rows * cols * positions / 1e9;
        double[] seconds = AlternatingRounds.bestSecondsPerRun(5, 8, 250_000_000L, AlternatingRounds::threadCpuNanos, passes);
        double[] best = new double[passes.length];
        for (int i = 0; i < passes.length; i++) {
            best[i] = gflop / seconds[i];
        }
        System.out.printf("%s %d x %d, %d positions, 1 thread, %s%n", type, rows, cols, positions, Simd.F);
        for (int i = 0; i < passes.length; i++) {
            System.out.printf("  %-30s %7.1f GFLOP/s  (%.2fx the dequantized-row path)%n", names[i], best[i], best[i] / best[1]);
        }
    }
}
