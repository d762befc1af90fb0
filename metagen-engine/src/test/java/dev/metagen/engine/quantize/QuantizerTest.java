package dev.metagen.engine.quantize;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernel;
import dev.metagen.engine.tensor.TypeKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Quantizer} on synthesized tiny F32 / F16 models: every output tensor equals the target kernel's
 * quantization of the dequantized source row, byte for byte; the per-tensor types are {@link QuantPlan}'s (and so
 * the synthesizer's); metadata is copied; bad inputs fail with one-line {@link MetagenException}s.
 */
class QuantizerTest {
    static final List<String> TARGETS = List.of("F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K",
            "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M");

    @TempDir
    static Path dir;

    /** A tiny preset with rows of 256 (every K-quant applies as named) or of 64 (the mixes' fallbacks apply). */
    static Path source(String preset, String type, int embd) {
        Path file = dir.resolve(preset + "-" + type + "-" + embd + ".gguf");
        if (!Files.exists(file)) {
            ModelSynthesizer.builder().preset(preset).embd(embd).heads(embd / 32).headDim(32).kvHeads(2)
                    .ffn(2 * embd).layers(3).type(type).seed(5).build().write(file);
        }
        return file;
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String preset : List.of("tiny-llama", "tiny-qwen2", "tiny-qwen3")) {
            for (String t : TARGETS) {
                b.add(Arguments.of(preset, t));
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void everyTensorIsTheKernelQuantizationOfTheSourceRow(String preset, String target) throws Exception {
        Path in = source(preset, "F32", 256);
        Path out = dir.resolve(preset + "-" + target + ".gguf");
        Quantizer.Result r = Quantizer.quantize(in, out, target, true);
        assertEquals(Files.size(out), r.outputBytes());
        assertFalse(Files.exists(dir.resolve(out.getFileName() + ".part")));
        assertSameAsKernelQuantization(in, out, target);
        // the synthesizer plans its types with the same QuantPlan and quantizes the same float rows: same tensors
        Path synth = source(preset, target, 256);
        try (GgufFile a = GgufFile.open(out); GgufFile b = GgufFile.open(synth)) {
            for (GgufTensorInfo t : a.tensors().values()) {
                GgufTensorInfo u = b.tensorInfo(t.name());
                assertEquals(u.type(), t.type(), t.name());
                assertArrayEquals(bytes(b, u), bytes(a, t), t.name());
            }
        }
    }

    @Test
    void mixesFallBackWhereBlocksDoNotDivideRowsAndF16SourcesWork() {
        // rows of 64: Q4_K -> Q5_0, Q6_K -> Q8_0 (llama.cpp's fallbacks)
        Path in = source("tiny-llama", "F32", 64);
        Path out = dir.resolve("fallback-Q4_K_M.gguf");
        Quantizer.quantize(in, out, "Q4_K_M", true);
        assertSameAsKernelQuantization(in, out, "Q4_K_M");
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(GgmlType.Q5_0, f.tensorInfo("blk.1.attn_q.weight").type());
            assertEquals(GgmlType.Q8_0, f.tensorInfo("output.weight").type()); // Q6_K -> Q8_0
            assertEquals(GgmlType.Q5_0, f.tensorInfo("token_embd.weight").type()); // untied: not the output
            assertEquals(GgmlType.Q8_0, f.tensorInfo("blk.2.ffn_down.weight").type()); // use_more_bits(2, 3): the last eighth
            assertEquals(GgmlType.Q5_0, f.tensorInfo("blk.0.ffn_down.weight").type());
        }
        for (String src : List.of("F16", "BF16")) {
            Path f16 = source("tiny-qwen2", src, 256);
            Path q = dir.resolve("from-" + src + ".gguf");
            Quantizer.quantize(f16, q, "Q8_0", true);
            assertSameAsKernelQuantization(f16, q, "Q8_0");
        }
    }

    @Test
    void mixPlanFollowsLlamaCpp() {
        QuantPlan p = new QuantPlan("q4_k_m", 16, false);
        assertEquals(15, p.fileType());
        assertEquals(GgmlType.Q6_K, p.typeFor("output.weight", new long[] {256, 512}));
        assertEquals(GgmlType.Q4_K, p.typeFor("token_embd.weight", new long[] {256, 512}));
        assertEquals(GgmlType.F32, p.typeFor("blk.0.attn_norm.weight", new long[] {256}));
        // use_more_bits(i, 16): i < 2, i >= 14, or (i - 2) % 3 == 2
        for (int i = 0; i < 16; i++) {
            boolean more = i < 2 || i >= 14 || (i - 2) % 3 == 2;
            GgmlType want = more ? GgmlType.Q6_K : GgmlType.Q4_K;
            assertEquals(want, p.typeFor("blk." + i + ".attn_v.weight", new long[] {256, 64}), "attn_v " + i);
            assertEquals(want, p.typeFor("blk." + i + ".ffn_down.weight", new long[] {512, 256}), "ffn_down " + i);
            assertEquals(GgmlType.Q4_K, p.typeFor("blk." + i + ".attn_q.weight", new long[] {256, 256}));
        }
        assertEquals(GgmlType.Q6_K, new QuantPlan("Q5_K_M", 16, true).typeFor("token_embd.weight", new long[] {256, 512}));
        assertThrows(MetagenException.class, () -> new QuantPlan("Q3_K", 16, true));
    }

    @Test
    void badInputsFailWithOneLineMessages() throws Exception {
        Path in = source("tiny-llama", "F32", 256);
        Path q = dir.resolve("quantized-once.gguf");
        Quantizer.quantize(in, q, "Q4_0", true);

        MetagenException again = assertThrows(MetagenException.class,
                () -> Quantizer.quantize(q, dir.resolve("twice.gguf"), "Q8_0", false));
        assertTrue(again.getMessage().contains("already quantized: tensor token_embd.weight is Q4_0"), again.getMessage());
        assertFalse(Files.exists(dir.resolve("twice.gguf")));

        MetagenException exists = assertThrows(MetagenException.class, () -> Quantizer.quantize(in, q, "Q8_0", false));
        assertTrue(exists.getMessage().contains("exists (use --force"), exists.getMessage());

        MetagenException type = assertThrows(MetagenException.class,
                () -> Quantizer.quantize(in, dir.resolve("x.gguf"), "Q2_K", false));
        assertTrue(type.getMessage().contains("unsupported tensor type 'Q2_K'"), type.getMessage());

        MetagenException same = assertThrows(MetagenException.class, () -> Quantizer.quantize(in, in, "Q8_0", true));
        assertTrue(same.getMessage().contains("same file"), same.getMessage());

        // the same tensors under another architecture name
        Path gpt2 = dir.resolve("gpt2.gguf");
        try (GgufFile f = GgufFile.open(in)) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> w.put(k, k.equals("general.architecture") ? GgufValue.of("gpt2") : v));
            for (GgufTensorInfo t : f.tensors().values()) {
                w.addTensor(t.name(), t.shape(), t.type(), () -> bytes(f, t));
            }
            w.write(gpt2);
        }
        MetagenException arch = assertThrows(MetagenException.class,
                () -> Quantizer.quantize(gpt2, dir.resolve("y.gguf"), "Q8_0", false));
        assertTrue(arch.getMessage().contains("unsupported architecture 'gpt2'"), arch.getMessage());
        for (MetagenException e : List.of(again, exists, type, same, arch)) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void greedyAgreementOfAModelWithItselfIsComplete() {
        Path in = source("tiny-qwen3", "F32", 256);
        Path f16 = dir.resolve("self-F16.gguf");
        Quantizer.quantize(in, f16, "F16", true);
        GreedyAgreement same = GreedyAgreement.measure(in, in, 16, 1);
        assertEquals(new GreedyAgreement(16, 16, 0.0), same);
        GreedyAgreement half = GreedyAgreement.measure(in, f16, 16, 1);
        assertTrue(half.maxTopProbDiff() > 0 && half.maxTopProbDiff() < 0.2, half.toString());
        Path q4 = dir.resolve("self-Q4_0.gguf");
        Quantizer.quantize(in, q4, "Q4_0", true);
        GreedyAgreement coarse = GreedyAgreement.measure(in, q4, 16, 1);
        // 4-bit rounding moves the distribution more than half precision does
        assertTrue(coarse.maxTopProbDiff() > half.maxTopProbDiff(), coarse + " vs " + half);
    }

    /** Checks types, metadata and every tensor's bytes of {@code out} against re-quantizing {@code in} here. */
    static void assertSameAsKernelQuantization(Path in, Path out, String target) {
        try (GgufFile a = GgufFile.open(in); GgufFile b = GgufFile.open(out)) {
            QuantPlan plan = new QuantPlan(target, a.getInt(a.getString("general.architecture", "") + ".block_count", -1),
                    !a.tensors().containsKey("output.weight"));
            assertEquals(plan.fileType(), b.getInt("general.file_type", -1));
            for (Map.Entry<String, GgufValue> e : a.metadata().entrySet()) {
                if (!e.getKey().equals("general.file_type") && !e.getKey().equals("general.quantization_version")) {
                    assertEquals(e.getValue().display(1 << 20), b.get(e.getKey()).display(1 << 20), e.getKey());
                }
            }
            assertEquals(List.copyOf(a.tensors().keySet()), List.copyOf(b.tensors().keySet()));
            for (GgufTensorInfo s : a.tensors().values()) {
                GgufTensorInfo q = b.tensorInfo(s.name());
                GgmlType want = plan.typeFor(s.name(), s.shape());
                assertEquals(want, q.type(), s.name());
                assertArrayEquals(s.shape(), q.shape(), s.name());
                int cols = Math.toIntExact(s.shape()[0]);
                int rows = Math.toIntExact(s.elementCount() / cols);
                TypeKernel from = TypeKernels.of(s.type(), s.name());
                TypeKernel to = TypeKernels.of(want, s.name());
                byte[] got = bytes(b, q);
                long rowBytes = want.byteSize(cols);
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    from.dequantize(a.tensorData(s), r * s.type().byteSize(cols), row, 0, cols);
                    byte[] expect = to.quantize(row, 0, cols);
                    byte[] actual = Arrays.copyOfRange(got, (int) (r * rowBytes), (int) ((r + 1) * rowBytes));
                    if (!Arrays.equals(expect, actual)) {
                        fail(s.name() + " row " + r + " differs from " + want + " quantization of the source row");
                    }
                }
            }
        }
    }

    static byte[] bytes(GgufFile f, GgufTensorInfo t) {
        return f.tensorData(t).toArray(ValueLayout.JAVA_BYTE);
    }
}
