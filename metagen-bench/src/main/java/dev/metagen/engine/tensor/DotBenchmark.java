package dev.metagen.engine.tensor;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * JMH (OpenJDK Java Microbenchmark Harness) benchmark of the ggml-type dot kernels: one single-threaded pass of
 * {@link TypeKernel#dot} over {@code rows} stored rows of {@code cols} weights, for the registered (vector, where
 * available) kernel and the scalar reference. Weights are distinct random rows, so each pass streams
 * {@code rows * type.byteSize(cols)} bytes (2 to 8 MB by default: beyond L2, like a real matvec).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class DotBenchmark {

    @Param({"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q6_K", "F16"})
    public String type;

    /** {@code registered}: what {@link TypeKernels#of} hands out; {@code scalar}: the blockwise reference. */
    @Param({"registered", "scalar"})
    public String kernel;

    @Param("4096")
    public int cols;

    @Param("1024")
    public int rows;

    private TypeKernel k;
    private MemorySegment w;
    private long rowBytes;
    private float[] x;

    @Setup
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        k = kernel.equals("scalar") ? TypeKernels.scalar(t) : TypeKernels.of(t, "bench");
        rowBytes = t.byteSize(cols);
        w = Arena.ofAuto().allocate(rowBytes * rows, 64);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                row[i] = (float) rnd.nextGaussian();
            }
            MemorySegment.copy(MemorySegment.ofArray(k.quantize(row, 0, cols)), 0, w, r * rowBytes, rowBytes);
        }
        x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
    }

    /** One matrix-vector product's worth of dot products; the sum keeps the JIT from dropping any. */
    @Benchmark
    public float matvec() {
        float sum = 0;
        for (int r = 0; r < rows; r++) {
            sum += k.dot(w, r * rowBytes, x, 0, cols);
        }
        return sum;
    }
}
