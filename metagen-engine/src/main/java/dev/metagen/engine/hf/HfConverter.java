package dev.metagen.engine.hf;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernel;
import dev.metagen.engine.tensor.TypeKernels;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Converts a Hugging Face model directory to a GGUF file as llama.cpp's {@code convert_hf_to_gguf.py} does: the
 * metadata {@link HfModel} reads, Q/K rows permuted for the llama architecture, 1-D tensors F32 and the others in
 * the {@code --outtype} (Q8_0 falls back to F16 for rows its blocks do not divide, as the converter's does).
 */
public final class HfConverter {
    /** The output types, as {@code --outtype} names them. */
    public static final List<String> TYPES = List.of("f32", "f16", "bf16", "q8_0");

    /** What {@link #convert} wrote. */
    public record Result(Path output, long bytes, int tensors, Map<GgmlType, Integer> typeCounts, double seconds) {}

    private HfConverter() {}

    /** Writes {@code out} from directory {@code dir}; the file appears only when complete. */
    public static Result convert(Path dir, Path out, String type, boolean force) {
        long t0 = System.nanoTime();
        String t = type == null ? "" : type.toLowerCase(Locale.ROOT);
        if (!TYPES.contains(t)) {
            throw new MetagenException("convert: --type must be one of " + String.join(", ", TYPES) + ", got '" + type + "'");
        }
        GgmlType target = GgmlType.valueOf(t.toUpperCase(Locale.ROOT));
        if (Files.exists(out) && !force) {
            throw new MetagenException("convert: " + out + " exists (use --force to overwrite)");
        }
        if (!Files.isDirectory(dir)) {
            throw new MetagenException("convert: " + dir + " is not a directory (convert reads a Hugging Face model directory)");
        }
        Path tmp = out.resolveSibling(out.getFileName() + ".part");
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        HfModel model = HfModel.open(dir);
        try (GgufFile f = model.file()) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                if (!e.getKey().equals("general.file_type")) {
                    w.put(e.getKey(), e.getValue());
                }
            }
            w.putUInt32("general.file_type", switch (target) {
                case F32 -> 0;
                case F16 -> 1;
                case BF16 -> 32;
                default -> 7; // MOSTLY_Q8_0
            });
            for (GgufTensorInfo ti : f.tensors().values()) {
                GgmlType ty = ti.shape().length == 1 ? GgmlType.F32 : target;
                if (ti.shape()[0] % ty.blockSize != 0) {
                    ty = GgmlType.F16;
                }
                GgmlType outType = ty;
                counts.merge(outType, 1, Integer::sum);
                int heads = model.permuteHeads(ti.name());
                w.addTensor(ti.name(), ti.shape(), outType, () -> rows(f, ti, outType, heads));
            }
            w.write(tmp);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new Result(out, Files.size(out), f.tensors().size(), Map.copyOf(counts), (System.nanoTime() - t0) / 1e9);
        } catch (IOException e) {
            throw new MetagenException("convert: cannot write " + out + ": " + MetagenException.describe(e), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: a stale .part file is overwritten next time
            }
        }
    }

    /** The tensor's rows in {@code type}, row {@code r} taken from stored row {@link HfModel#permute} when permuted. */
    private static byte[] rows(GgufFile f, GgufTensorInfo t, GgmlType type, int heads) {
        int cols = Math.toIntExact(t.shape()[0]);
        int rows = Math.toIntExact(t.elementCount() / cols);
        long rowBytes = type.byteSize(cols);
        long total = rowBytes * rows;
        if (total > Integer.MAX_VALUE - 16) {
            throw new MetagenException("convert: tensor " + t.name() + " needs " + total + " bytes as " + type
                    + ", more than one Java array holds");
        }
        byte[] out = new byte[(int) total];
        MemorySegment src = f.tensorData(t);
        TypeKernel from = TypeKernels.of(t.type(), t.name());
        TypeKernel to = TypeKernels.of(type, t.name());
        long srcRowBytes = t.type().byteSize(cols);
        boolean vector = t.shape().length == 1;
        if (vector && heads > 0) {
            // a bias: its elements are the rows of the permutation
            float[] v = new float[cols];
            from.dequantize(src, 0, v, 0, cols);
            float[] p = new float[cols];
            for (int i = 0; i < cols; i++) {
                p[i] = v[HfModel.permute(i, cols, heads)];
            }
            return to.quantize(p, 0, cols);
        }
        IntStream.range(0, rows).parallel().forEach(r -> {
            int s = heads > 0 ? HfModel.permute(r, rows, heads) : r;
            float[] row = new float[cols];
            from.dequantize(src, s * srcRowBytes, row, 0, cols);
            byte[] q = to.quantize(row, 0, cols);
            System.arraycopy(q, 0, out, (int) (r * rowBytes), q.length);
        });
        return out;
    }
}
