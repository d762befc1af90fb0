package dev.metagen.engine.tensor;

import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Manual timing, not a test: the matrix-vector products of one decode step of a GGUF file, nothing else (no
 * attention, norms or hand-offs), every weight matrix once with its rows split evenly between THREADS threads; per
 * tensor kind (layer number dropped), the milliseconds and GB/s of the best of ten rounds after a warm-up (wall
 * clock). Compared with {@code bench}'s decode time it shows what a step spends outside the products, and per kind
 * which products stream slowly. The first line is the machine's ceiling for the same bytes: a plain vector sum over them, split the
 * same way. Run from the repository root after test-compile:
 * {@code java --add-modules jdk.incubator.vector -cp metagen-engine/target/classes:metagen-engine/target/test-classes:metagen-core/target/classes dev.metagen.engine.tensor.MatvecProfile FILE.gguf 2 [NAME_PART [POSITIONS]]}
 */
public final class MatvecProfile {

    public static void main(String[] args) throws Exception {
        GgufFile file = GgufFile.open(Path.of(args[0]));
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        String only = args.length > 2 ? args[2] : ""; // a substring of the tensor names to keep
        int positions = args.length > 3 ? Integer.parseInt(args[3]) : 1; // vectors per product (Matrix.matvecs)
        List<Matrix> matrices = new ArrayList<>();
        long bytes = 0;
        int widest = 0;
        int tallest = 0;
        for (GgufTensorInfo t : file.tensors().values()) {
            if (t.shape().length >= 2 && t.name().contains(only)) {
                Matrix m = file.matrix(t);
                matrices.add(m);
                bytes += t.byteSize();
                widest = Math.max(widest, m.cols());
                tallest = Math.max(tallest, m.rows());
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads - 1));
        long bestStream = Long.MAX_VALUE;
        for (int round = 0; round < 10; round++) {
            long t0 = System.nanoTime();
            for (Matrix m : matrices) {
                long size = m.type().byteSize((long) m.cols()) * m.rows();
                List<Future<Long>> parts = new ArrayList<>();
                for (int i = 1; i < threads; i++) {
                    long from = size * i / threads / 64 * 64;
                    long to = i + 1 == threads ? size : size * (i + 1) / threads / 64 * 64;
                    parts.add(pool.submit(() -> sum(m.data(), from, to)));
                }
                long s = sum(m.data(), 0, size / threads / 64 * 64);
                for (Future<Long> f : parts) {
                    s += f.get();
                }
                if (s == 42) {
                    System.out.print(""); // keeps the sum alive
                }
            }
            bestStream = Math.min(bestStream, System.nanoTime() - t0);
        }
        System.out.printf("plain vector sum over the same bytes, %d threads: %.1f ms (%.2f GB/s)%n", threads,
                bestStream / 1e6, bytes / (double) bestStream);
        float[] x = Samples.gaussian(3, widest * positions);
        float[] out = new float[tallest * positions];
        Map<String, long[]> best = new TreeMap<>(); // kind -> {nanos of the best total round, bytes}
        long bestTotal = Long.MAX_VALUE;
        // rounds run for at least 5 s and the best of the last 10 counts: the Vector API kernels are slow until C2 has
        // compiled them, which takes a second or two (a single small matrix would be measured before that otherwise)
        long start = System.nanoTime();
        for (int measured = 0; measured < 10; ) {
            boolean warm = System.nanoTime() - start >= 5_000_000_000L;
            if (warm) {
                measured++;
            }
            Map<String, long[]> times = new TreeMap<>();
            long t0 = System.nanoTime();
            for (Matrix m : matrices) {
                long s = System.nanoTime();
                List<Future<?>> parts = new ArrayList<>();
                for (int i = 1; i < threads; i++) {
                    int from = (int) ((long) m.rows() * i / threads);
                    int to = (int) ((long) m.rows() * (i + 1) / threads);
                    parts.add(pool.submit(() -> product(m, x, m.cols(), positions, out, m.rows(), from, to)));
                }
                product(m, x, m.cols(), positions, out, m.rows(), 0, m.rows() / threads);
                for (Future<?> f : parts) {
                    f.get();
                }
                String kind = m.name().replaceAll("blk\\.\\d+\\.", "") + " " + m.type() + " " + m.rows() + "x" + m.cols();
                long[] acc = times.computeIfAbsent(kind, k -> new long[2]);
                acc[0] += System.nanoTime() - s;
                acc[1] += m.type().byteSize((long) m.cols()) * m.rows();
            }
            long total = System.nanoTime() - t0;
            if (warm && total < bestTotal) {
                bestTotal = total;
                best = times;
            }
        }
        pool.shutdown();
        System.out.printf("%s: %d matrices, %.1f MB, %d threads, %d position(s): best round %.1f ms (%.2f GB/s)%n",
                args[0], matrices.size(), bytes / 1e6, threads, positions, bestTotal / 1e6, bytes / (double) bestTotal);
        best.forEach((kind, t) -> System.out.printf("  %-44s %7.2f ms  %6.2f GB/s%n", kind, t[0] / 1e6, t[1] / (double) t[0]));
    }

    /**
     * Rows {@code [from, to)} of {@code m} times {@code positions} vectors, routed as the model routes them: one
     * matvec, matvecs up to the type's multi-vector positions, the GEMM (packing included) beyond.
     */
    private static void product(Matrix m, float[] x, int xStride, int positions, float[] out, int outStride, int from,
                                int to) {
        if (positions == 1) {
            m.matvec(x, 0, out, 0, from, to);
        } else if (m.prefersMatvecs(positions)) {
            m.matvecs(x, 0, xStride, positions, out, 0, outStride, from, to);
        } else {
            int tile = Matrix.GEMM_ROW_TILE; // whole tiles per thread, as the model splits
            int a = from / tile * tile;
            int b = to == m.rows() ? to : to / tile * tile;
            m.matmul(x, xStride, out, outStride, positions, a, b);
        }
    }

    /** Bytes {@code [from, to)} of {@code data} summed as 64-byte vectors (the tail past the last full one is skipped). */
    private static long sum(java.lang.foreign.MemorySegment data, long from, long to) {
        jdk.incubator.vector.ByteVector acc = jdk.incubator.vector.ByteVector.zero(jdk.incubator.vector.ByteVector.SPECIES_512);
        for (long i = from; i + 64 <= to; i += 64) {
            acc = acc.add(jdk.incubator.vector.ByteVector.fromMemorySegment(jdk.incubator.vector.ByteVector.SPECIES_512,
                    data, i, java.nio.ByteOrder.LITTLE_ENDIAN));
        }
        return acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
