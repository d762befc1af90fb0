package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
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
 * JMH benchmark of the prefill matrix-matrix product, single-threaded: {@code rows x cols} weights of one type times
 * {@code positions} activation vectors, by three methods: {@code gemm} ({@link Matrix#matmul}, the register-tiled
 * kernel), {@code rowdot} (the previous prefill path: dequantize a row, then one float dot product per position)
 * and {@code dot} (the type's own dot product per row and position, as decoding does). The ratios between methods
 * in one run are the figure of merit; absolute times depend on the machine and its load.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Param({"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q6_K", "F16"})
    public String type;

    @Param({"gemm", "rowdot", "dot"})
    public String method;

    @Param("32")
    public int positions;

    @Param("2048")
    public int cols;

    @Param("1024")
    public int rows;

    private Matrix m;
    private float[] in;
    private float[] out;
    private float[] row;

    @Setup
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        TypeKernel k = TypeKernels.of(t, "bench");
        long rowBytes = t.byteSize(cols);
        MemorySegment w = Arena.ofAuto().allocate(rowBytes * rows, 64);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] src = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                src[i] = (float) rnd.nextGaussian();
            }
            MemorySegment.copy(MemorySegment.ofArray(k.quantize(src, 0, cols)), 0, w, r * rowBytes, rowBytes);
        }
        m = new Matrix("bench", t, w, cols, rows);
        in = new float[positions * cols];
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) rnd.nextGaussian();
        }
        out = new float[positions * rows];
        row = new float[cols];
    }

    @Benchmark
    public float matmul() {
        switch (method) {
            case "gemm" -> m.matmul(in, cols, out, rows, positions, 0, rows);
            case "rowdot" -> {
                for (int j = 0; j < rows; j++) {
                    m.dequantizeRow(j, row, 0);
                    for (int p = 0; p < positions; p++) {
                        out[p * rows + j] = floatDot(row, in, p * cols, cols);
                    }
                }
            }
            default -> {
                for (int j = 0; j < rows; j++) {
                    for (int p = 0; p < positions; p++) {
                        out[p * rows + j] = m.dot(j, in, p * cols);
                    }
                }
            }
        }
        return out[out.length - 1];
    }

    private static float floatDot(float[] a, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, a, i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float s = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[i] * b[bOff + i];
        }
        return s;
    }
}
