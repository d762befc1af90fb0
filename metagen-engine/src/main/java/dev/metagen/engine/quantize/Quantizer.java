package dev.metagen.engine.quantize;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.model.Architecture;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernel;
import dev.metagen.engine.tensor.TypeKernels;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Converts an F32 / F16 / BF16 GGUF of a supported architecture into a quantized GGUF, like llama.cpp's
 * {@code llama-quantize} (per-tensor types from {@link QuantPlan}, ggml reference rounding from each
 * {@link TypeKernel#quantize}). Metadata is copied with {@code general.file_type} set to the target's
 * {@code llama_ftype}; tensors are converted and written one at a time, rows in parallel.
 */
public final class Quantizer {

    /** Source tensor types quantize reads: the unquantized ones. */
    private static final Set<GgmlType> SOURCE_TYPES = Set.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16);

    /** What {@link #quantize} wrote. */
    public record Result(Path input, Path output, String target, long inputBytes, long outputBytes, int tensors,
                         Map<GgmlType, Integer> typeCounts, double seconds) {}

    private Quantizer() {}

    /**
     * Writes {@code out} as {@code in} with its 2-D weights in {@code target} (a {@link QuantPlan#NAMES} entry
     * other than F32). The file appears only when complete (written next to it, then moved).
     */
    public static Result quantize(Path in, Path out, String target, boolean force) {
        long t0 = System.nanoTime();
        String name = QuantPlan.canonical(target);
        if (name.equals("F32")) {
            throw new MetagenException("quantize: target type F32 is not a quantization (use F16, BF16, Q8_0, ...)");
        }
        if (Files.exists(out) && !force) {
            throw new MetagenException("quantize: " + out + " exists (use --force to overwrite)");
        }
        try {
            if (Files.exists(out) && Files.isSameFile(in, out)) {
                throw new MetagenException("quantize: input and output are the same file " + in);
            }
        } catch (IOException e) {
            throw new MetagenException("quantize: cannot compare " + in + " and " + out + ": " + MetagenException.describe(e), e);
        }
        Path tmp = out.resolveSibling(out.getFileName() + ".part");
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        int tensors;
        try (GgufFile f = GgufFile.open(in)) {
            String arch = f.getString("general.architecture", null);
            if (arch == null || Architecture.byGgufName(arch) == null) {
                throw new MetagenException("quantize: unsupported architecture '" + arch + "' in " + in
                        + " (supported: llama, qwen2, qwen3, gemma3, phi3)");
            }
            for (GgufTensorInfo t : f.tensors().values()) {
                if (!SOURCE_TYPES.contains(t.type())) {
                    throw new MetagenException("quantize: " + in + " is already quantized: tensor " + t.name()
                            + " is " + t.typeName() + " (need an F32, F16 or BF16 source)");
                }
            }
            QuantPlan plan = new QuantPlan(name, f.requireInt(arch + ".block_count"),
                    !f.tensors().containsKey("output.weight"));
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                if (!e.getKey().equals("general.file_type") && !e.getKey().equals("general.quantization_version")) {
                    w.put(e.getKey(), e.getValue());
                }
            }
            w.putUInt32("general.file_type", plan.fileType());
            w.putUInt32("general.quantization_version", 2); // ggml's GGML_QNT_VERSION
            for (GgufTensorInfo t : f.tensors().values()) {
                GgmlType type = plan.typeFor(t.name(), t.shape());
                TypeKernels.of(type, t.name()); // fail before writing, not halfway through the file
                counts.merge(type, 1, Integer::sum);
                w.addTensor(t.name(), t.shape(), type, () -> convert(f, t, type));
            }
            tensors = f.tensors().size();
            w.write(tmp);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new Result(in, out, name, Files.size(in), Files.size(out), tensors, Map.copyOf(counts),
                    (System.nanoTime() - t0) / 1e9);
        } catch (IOException e) {
            throw new MetagenException("quantize: cannot write " + out + ": " + MetagenException.describe(e), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: a stale .part file is harmless and overwritten next time
            }
        }
    }

    /** Re-encodes one tensor row by row: dequantize the source row to float, quantize it to {@code type}. */
    private static byte[] convert(GgufFile f, GgufTensorInfo t, GgmlType type) {
        int cols = Math.toIntExact(t.shape()[0]);
        long rowsL = t.elementCount() / cols;
        long rowBytes = type.byteSize(cols);
        long total = rowBytes * rowsL;
        if (total > Integer.MAX_VALUE - 16) {
            throw new MetagenException("quantize: tensor " + t.name() + " needs " + total + " bytes as " + type
                    + ", more than one Java array holds");
        }
        int rows = (int) rowsL;
        byte[] out = new byte[(int) total];
        MemorySegment src = f.tensorData(t);
        TypeKernel from = TypeKernels.of(t.type(), t.name());
        TypeKernel to = TypeKernels.of(type, t.name());
        long srcRowBytes = t.type().byteSize(cols);
        IntStream.range(0, rows).parallel().forEach(r -> {
            float[] row = new float[cols];
            from.dequantize(src, r * srcRowBytes, row, 0, cols);
            byte[] q = to.quantize(row, 0, cols);
            System.arraycopy(q, 0, out, (int) (r * rowBytes), q.length);
        });
        return out;
    }
}
