package dev.metagen.engine.tensor;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Known-answer cross-check against llama.cpp's own ggml: the {@code libggml-base.so} shipped in the
 * node-llama-cpp@3.22.1 prebuilt (test-support/llamacpp, after {@code npm install}) is called through the FFM API.
 * Our quantizers must produce the same bytes as ggml's {@code quantize_row_*_ref} (and F16/BF16 row converters),
 * and our dequantization must produce the same float bits as ggml's {@code dequantize_row_*}, on Gaussian data,
 * llama.cpp's test-quantize-fns data, edge blocks and random bit patterns. Skipped when the library is absent.
 */
class GgmlCrossCheckTest {
    private static final String LIB = "test-support/llamacpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
    private static SymbolLookup ggml;

    /** (quantize, dequantize) symbol names per type. */
    private static final Map<GgmlType, String[]> SYMBOLS = Map.of(
            GgmlType.F16, new String[] {"ggml_fp32_to_fp16_row", "ggml_fp16_to_fp32_row"},
            GgmlType.BF16, new String[] {"ggml_fp32_to_bf16_row_ref", "ggml_bf16_to_fp32_row"},
            GgmlType.Q8_0, new String[] {"quantize_row_q8_0_ref", "dequantize_row_q8_0"},
            GgmlType.Q4_0, new String[] {"quantize_row_q4_0_ref", "dequantize_row_q4_0"},
            GgmlType.Q4_1, new String[] {"quantize_row_q4_1_ref", "dequantize_row_q4_1"},
            GgmlType.Q5_0, new String[] {"quantize_row_q5_0_ref", "dequantize_row_q5_0"},
            GgmlType.Q5_1, new String[] {"quantize_row_q5_1_ref", "dequantize_row_q5_1"},
            GgmlType.Q4_K, new String[] {"quantize_row_q4_K_ref", "dequantize_row_q4_K"},
            GgmlType.Q5_K, new String[] {"quantize_row_q5_K_ref", "dequantize_row_q5_K"},
            GgmlType.Q6_K, new String[] {"quantize_row_q6_K_ref", "dequantize_row_q6_K"});

    @BeforeAll
    static void load() {
        for (Path p : List.of(Path.of(LIB), Path.of("..").resolve(LIB))) {
            if (Files.isRegularFile(p) && System.getProperty("os.arch").equals("amd64")) {
                ggml = SymbolLookup.libraryLookup(p.toAbsolutePath(), Arena.global());
                return;
            }
        }
    }

    /** {@code void f(const void * src, void * dst, int64_t n)}, the shape of every row function used here. */
    private static MethodHandle row(String name) {
        return Linker.nativeLinker().downcallHandle(ggml.find(name).orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    }

    private static byte[] ggmlQuantize(GgmlType t, float[] x) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment dst = a.allocate(t.byteSize(x.length), 16);
            row(SYMBOLS.get(t)[0]).invokeExact(src, dst, (long) x.length);
            return dst.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static float[] ggmlDequantize(GgmlType t, byte[] q, int n) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocateFrom(ValueLayout.JAVA_BYTE, q);
            MemorySegment dst = a.allocate(4L * n, 16);
            row(SYMBOLS.get(t)[1]).invokeExact(src, dst, (long) n);
            return dst.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Inputs: Gaussian, test-quantize-fns' 0.1 + 2 cos(i), and edge blocks (zeros, constants, one spike, tiny, huge). */
    private static List<float[]> inputs() {
        List<float[]> in = new ArrayList<>();
        int n = 256 * 16;
        in.add(RoundTripTest.gaussian(123, n));
        float[] cos = new float[n];
        for (int i = 0; i < n; i++) {
            cos[i] = 0.1f + 2 * (float) Math.cos(i);
        }
        in.add(cos);
        SplittableRandom r = new SplittableRandom(77);
        float[] edge = new float[256 * 8];
        for (int b = 0; b < 8; b++) {
            for (int i = 0; i < 256; i++) {
                int k = b * 256 + i;
                edge[k] = switch (b) {
                    case 0 -> 0f;                                            // all zero
                    case 1 -> 3.25f;                                         // constant positive
                    case 2 -> -0.75f;                                        // constant negative
                    case 3 -> i == 77 ? 50f : (float) r.nextDouble(-0.01, 0.01); // one spike
                    case 4 -> (float) (r.nextDouble(-1, 1) * 1e-6);          // tiny (fp16 subnormal scales)
                    case 5 -> (float) (r.nextDouble(-1, 1) * 3e4);           // huge
                    case 6 -> (float) Math.abs(r.nextGaussian());            // all positive
                    default -> (i % 32) - 16f;                               // exact small integers
                };
            }
        }
        in.add(edge);
        return in;
    }

    @Test
    void quantizeMatchesGgmlByteForByte() throws Throwable {
        assumeTrue(ggml != null, "llama.cpp's libggml-base.so not installed (npm install in test-support/llamacpp)");
        for (GgmlType t : SYMBOLS.keySet()) {
            int which = 0;
            for (float[] x : inputs()) {
                byte[] ours = TypeKernels.of(t, "t").quantize(x, 0, x.length);
                byte[] theirs = ggmlQuantize(t, x);
                for (int i = 0; i < ours.length; i++) {
                    if (ours[i] != theirs[i]) {
                        fail(t + " input " + which + ": byte " + i + " (block " + i / t.typeSize + ", offset "
                                + i % t.typeSize + ") is " + (ours[i] & 0xFF) + ", ggml wrote " + (theirs[i] & 0xFF));
                    }
                }
                which++;
            }
        }
    }

    @Test
    void dequantizeMatchesGgmlBitForBit() throws Throwable {
        assumeTrue(ggml != null, "llama.cpp's libggml-base.so not installed (npm install in test-support/llamacpp)");
        SplittableRandom r = new SplittableRandom(99);
        for (GgmlType t : SYMBOLS.keySet()) {
            List<byte[]> rows = new ArrayList<>();
            for (float[] x : inputs()) {
                rows.add(TypeKernels.of(t, "t").quantize(x, 0, x.length));
            }
            // random bit patterns everywhere (scales included), except NaN/inf fp16 fields, which we keep finite
            byte[] random = new byte[(int) t.byteSize(256 * 16)];
            r.nextBytes(random);
            if (t == GgmlType.F16) {
                for (int i = 1; i < random.length; i += 2) {
                    if ((random[i] & 0x7C) == 0x7C) {
                        random[i] &= (byte) 0xBF;
                    }
                }
            }
            rows.add(random);
            for (byte[] q : rows) {
                int n = (int) (q.length / t.typeSize * t.blockSize);
                float[] ours = new float[n];
                TypeKernels.of(t, "t").dequantize(MemorySegment.ofArray(q), 0, ours, 0, n);
                float[] theirs = ggmlDequantize(t, q, n);
                for (int i = 0; i < n; i++) {
                    if (Float.isNaN(ours[i]) && Float.isNaN(theirs[i])) {
                        continue; // random scale bits can be NaN/inf for block types; both sides must agree it is NaN
                    }
                    assertEquals(Float.floatToRawIntBits(theirs[i]), Float.floatToRawIntBits(ours[i]),
                            t + " element " + i + ": ours " + ours[i] + ", ggml " + theirs[i]);
                }
            }
        }
    }
}
