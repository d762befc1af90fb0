package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufFormatException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One memory-mapped safetensors file (Hugging Face's format: a little-endian u64 header length, a JSON header of
 * {@code name -> {dtype, shape, data_offsets}}, then the tensor bytes). The file is untrusted input: the header
 * length, every shape and every offset are checked against the file before anything is sized by them.
 */
public final class Safetensors {
    /** The safetensors library's own limit on the header (its {@code MAX_HEADER_SIZE}). */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /** One tensor: its dtype name as stored, its shape in row-major order (outermost first) and its bytes. */
    public record Entry(String name, String dtype, long[] shape, MemorySegment data) {
        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Path path, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.entries = entries;
        this.metadata = metadata;
    }

    public Path path() {
        return path;
    }

    /** The tensors in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** The header's {@code __metadata__} strings (empty when there is none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Element size in bytes of a safetensors dtype, or 0 for one metagen does not read. */
    static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> 0;
        };
    }

    /** Maps {@code file} into {@code arena} (which the caller closes) and checks its header. */
    public static Safetensors open(Path file, Arena arena) {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            seg = size == 0 ? MemorySegment.NULL.reinterpret(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new MetagenException("safetensors file not found: " + file);
        } catch (IOException e) {
            throw new MetagenException("cannot read " + file + ": " + MetagenException.describe(e), e);
        }
        long size = seg.byteSize();
        if (size < 8) {
            throw bad(file, "file is too short to be safetensors (" + size + " bytes)");
        }
        long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 2 || n > size - 8) {
            throw bad(file, "header length " + Long.toUnsignedString(n) + " does not fit in the file's " + size
                    + " bytes: the file is truncated or not safetensors");
        }
        if (n > MAX_HEADER_BYTES) {
            throw bad(file, "header length " + n + " is over the " + MAX_HEADER_BYTES + "-byte limit");
        }
        byte[] header = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (IOException e) {
            throw bad(file, "header is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw bad(file, "header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataSize = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw bad(file, "__metadata__ is not an object");
                }
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            if (!v.isObject() || !v.path("dtype").isTextual() || !v.path("shape").isArray()
                    || !v.path("data_offsets").isArray() || v.path("data_offsets").size() != 2) {
                throw bad(file, "tensor " + name + ": entry needs dtype, shape and two data_offsets");
            }
            String dtype = v.get("dtype").asText();
            int es = dtypeSize(dtype);
            if (es == 0) {
                throw bad(file, "tensor " + name + " has unknown dtype " + dtype);
            }
            JsonNode sh = v.get("shape");
            if (sh.size() > 8) {
                throw bad(file, "tensor " + name + " has " + sh.size() + " dimensions");
            }
            long[] shape = new long[sh.size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = sh.get(i);
                if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0 || d.asLong() > (1L << 40)) {
                    throw bad(file, "tensor " + name + " has an invalid dimension " + d);
                }
                shape[i] = d.asLong();
                try {
                    count = Math.multiplyExact(count, shape[i]);
                } catch (ArithmeticException e) {
                    throw bad(file, "tensor " + name + " has too many elements");
                }
            }
            JsonNode o0 = v.get("data_offsets").get(0);
            JsonNode o1 = v.get("data_offsets").get(1);
            if (!o0.isIntegralNumber() || !o1.isIntegralNumber() || !o0.canConvertToLong() || !o1.canConvertToLong()) {
                throw bad(file, "tensor " + name + " has invalid data_offsets");
            }
            long begin = o0.asLong();
            long end = o1.asLong();
            if (begin < 0 || end < begin || end > dataSize) {
                throw bad(file, "tensor " + name + " data_offsets [" + begin + ", " + end + "] are outside the "
                        + dataSize + " data bytes: the file is truncated or corrupt");
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(count, es);
            } catch (ArithmeticException e) {
                throw bad(file, "tensor " + name + " is too large");
            }
            if (end - begin != bytes) {
                throw bad(file, "tensor " + name + " (" + dtype + " " + java.util.Arrays.toString(shape) + ") needs "
                        + bytes + " bytes but its data_offsets span " + (end - begin));
            }
            ranges.add(new long[]{begin, end});
            entries.put(name, new Entry(name, dtype, shape, seg.asSlice(dataStart + begin, bytes)));
        }
        ranges.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] < ranges.get(i - 1)[1]) {
                throw bad(file, "tensors overlap at data offset " + ranges.get(i)[0]);
            }
        }
        return new Safetensors(file, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    static GgufFormatException bad(Path file, String problem) {
        return new GgufFormatException(file + ": " + GgufFile.oneLine(problem));
    }
}
