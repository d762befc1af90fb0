package dev.metagen.engine.tensor;

import dev.metagen.engine.testing.AlternatingRounds;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Manual timing, not a test: single-thread matvec throughput (GB/s of weight bytes streamed) of our registered
 * kernel (its {@link TypeKernel#matvec}, as decoding runs it, and its dot product per row) and our scalar kernel,
 * against ggml's CPU {@code vec_dot} (llama.cpp's libggml-cpu-VARIANT.so from the node-llama-cpp prebuilt, called per
 * row through FFM, with x quantized to ggml's vec_dot_type as llama.cpp does).
 * Run from the repository root after test-compile:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp metagen-engine/target/classes:metagen-engine/target/test-classes:metagen-core/target/classes dev.metagen.engine.tensor.DotThroughput Q8_0 16384 4096 zen4}
 */
public final class DotThroughput {
    private static final String BINS = "test-support/llamacpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/";

    public static void main(String[] args) throws Throwable {
        GgmlType type = GgmlType.valueOf(args.length > 0 ? args[0] : "Q8_0");
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 16384;
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 4096;
        String variant = args.length > 3 ? args[3] : "haswell";
        Arena arena = Arena.global();
        long rowBytes = type.byteSize(cols);
        MemorySegment w = arena.allocate(rowBytes * rows, 64);
        float[] src = Samples.gaussian(1, cols);
        byte[] row = TypeKernels.of(type, "w").quantize(src, 0, cols);
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(MemorySegment.ofArray(row), 0, w, r * rowBytes, rowBytes); // same row: values irrelevant to speed
        }
        float[] x = Samples.gaussian(2, cols);
        float[] out = new float[rows];
        double gb = rowBytes * (double) rows / 1e9;
        System.out.printf("%s %d x %d (%.1f MB), 1 thread, %s, %d cores online%n", type, rows, cols, gb * 1e3,
                Simd.F, Runtime.getRuntime().availableProcessors());

        Matrix m = new Matrix("w", type, w, cols, rows);
        Runnable vecPass = () -> m.matvec(x, out, 0, rows);
        vecPass.run();
        float ours = out[7];
        TypeKernel kernel = TypeKernels.of(type, "w");
        Runnable dotPass = () -> {
            for (int r = 0; r < rows; r++) {
                out[r] = kernel.dot(w, r * rowBytes, x, 0, cols);
            }
        };
        TypeKernel scalar = TypeKernels.scalar(type);
        Runnable scalarPass = () -> {
            for (int r = 0; r < rows; r++) {
                out[r] = scalar.dot(w, r * rowBytes, x, 0, cols);
            }
        };

        Path base = Path.of(BINS + "libggml-base.so");
        if (!Files.exists(base) || variant.equals("none")) { // "none": ours only
            double[] best = best(gb, vecPass, dotPass, scalarPass);
            print(kernel, scalar, best);
            System.out.println("ggml: skipped (variant none, or not installed: npm install in test-support/llamacpp)");
            return;
        }
        SymbolLookup.libraryLookup(base.toAbsolutePath(), arena);
        SymbolLookup cpu = SymbolLookup.libraryLookup(Path.of(BINS + "libggml-cpu-" + variant + ".so").toAbsolutePath(), arena);
        Linker linker = Linker.nativeLinker();
        linker.downcallHandle(cpu.find("ggml_cpu_init").orElseThrow(), FunctionDescriptor.ofVoid()).invokeExact();
        MemorySegment traits = (MemorySegment) linker.downcallHandle(cpu.find("ggml_get_type_traits_cpu").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT)).invokeExact(type.id);
        traits = traits.reinterpret(24);
        // struct ggml_type_traits_cpu { from_float; vec_dot; enum ggml_type vec_dot_type; ... }
        MemorySegment vecDot = traits.get(ValueLayout.ADDRESS, 8);
        GgmlType dotType = GgmlType.byId(traits.get(ValueLayout.JAVA_INT, 16));
        MethodHandle fromFloat = linker.downcallHandle(
                ((MemorySegment) linker.downcallHandle(cpu.find("ggml_get_type_traits_cpu").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT)).invokeExact(dotType.id))
                        .reinterpret(24).get(ValueLayout.ADDRESS, 0),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle dot = linker.downcallHandle(vecDot, FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_INT), Linker.Option.critical(false));
        MemorySegment xq = arena.allocate(Math.max(dotType.byteSize(cols), 4L * cols), 64);
        MemorySegment xf = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
        MemorySegment s = arena.allocate(4L * rows, 64);
        Runnable ggmlPass = () -> {
            try {
                fromFloat.invokeExact(xf, xq, (long) cols); // once per matvec, as llama.cpp does per activation row
                for (int r = 0; r < rows; r++) {
                    dot.invokeExact(cols, s.asSlice(4L * r), 0L, w.asSlice(r * rowBytes), 0L, xq, 0L, 1);
                }
            } catch (Throwable e) {
                throw new RuntimeException(e);
            }
        };
        double[] best = best(gb, vecPass, dotPass, scalarPass, ggmlPass);
        double vec = best[0];
        double ggml = best[3];
        print(kernel, scalar, best);
        System.out.printf("ggml-cpu-%-8s vec_dot (x as %s) %6.2f GB/s   (row 7: ggml %.5f, ours %.5f)%n", variant, dotType,
                ggml, s.getAtIndex(ValueLayout.JAVA_FLOAT, 7), ours);
        System.out.printf("ratio metagen / ggml = %.2f%n", vec / ggml);
    }

    private static void print(TypeKernel kernel, TypeKernel scalar, double[] best) {
        System.out.printf("metagen %-22s matvec   %6.2f GB/s%n", kernel.getClass().getSimpleName(), best[0]);
        System.out.printf("metagen %-22s dot/row  %6.2f GB/s%n", kernel.getClass().getSimpleName(), best[1]);
        System.out.printf("metagen %-22s dot/row  %6.2f GB/s%n", scalar.getClass().getSimpleName(), best[2]);
    }

    /**
     * Best GB/s of each pass over 8 interleaved rounds of about 0.25 s of thread CPU time each after a warm-up: the
     * machine is shared, so the best round of each, measured alternately, is the fairest comparison available.
     */
    private static double[] best(double gb, Runnable... passes) {
        double[] seconds = AlternatingRounds.bestSecondsPerRun(3, 8, 250_000_000L, AlternatingRounds::threadCpuNanos,
                passes);
        double[] best = new double[passes.length];
        for (int i = 0; i < passes.length; i++) {
            best[i] = gb / seconds[i];
        }
        return best;
    }
}
