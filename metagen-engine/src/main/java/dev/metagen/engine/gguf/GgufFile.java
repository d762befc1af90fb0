package dev.metagen.engine.gguf;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped GGUF file (versions 2 and 3, ggml's {@code docs/gguf.md}): metadata, tensor infos and
 * tensor data as {@link MemorySegment}s that stay in the page cache, never copied to the heap.
 * Every length and offset is checked against the file size, so a corrupt file is a clear error.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final int alignment;
    private final long dataOffset;
    /** For an assembled description: each tensor's bytes (mapped from its own file); null for a GGUF file. */
    private final Map<String, MemorySegment> tensorSegments;
    private final boolean rotateHalfQk;

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, Map<String, GgufValue> metadata,
                     Map<String, GgufTensorInfo> tensors, int alignment, long dataOffset) {
        this(path, arena, file, version, metadata, tensors, alignment, dataOffset, null, false);
    }

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, Map<String, GgufValue> metadata,
                     Map<String, GgufTensorInfo> tensors, int alignment, long dataOffset,
                     Map<String, MemorySegment> tensorSegments, boolean rotateHalfQk) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.tensorSegments = tensorSegments;
        this.rotateHalfQk = rotateHalfQk;
    }

    /**
     * A model description that is not one GGUF file but reads as one: the metadata and tensor names a GGUF of the
     * model would hold, each tensor's bytes a segment of its own (e.g. mapped from a safetensors file), all valid
     * until {@code arena} is closed (by {@link #close}). {@code rotateHalfQk}: the {@code attn_q} / {@code attn_k}
     * rows are in the rotate-half order of Hugging Face checkpoints rather than permuted for ggml's adjacent-pair
     * rope (see {@link #rotateHalfQk()}).
     */
    public static GgufFile assembled(Path path, Arena arena, Map<String, GgufValue> metadata,
                                     Map<String, MemorySegment> tensorData, Map<String, long[]> shapes,
                                     Map<String, GgmlType> types, boolean rotateHalfQk) {
        Map<String, GgufTensorInfo> infos = new LinkedHashMap<>();
        Map<String, MemorySegment> segs = new LinkedHashMap<>();
        for (Map.Entry<String, MemorySegment> e : tensorData.entrySet()) {
            String name = e.getKey();
            GgmlType type = types.get(name);
            GgufTensorInfo t = new GgufTensorInfo(name, shapes.get(name).clone(), type, type.id, 0);
            if (t.byteSize() != e.getValue().byteSize()) {
                throw new GgufFormatException(path + ": " + oneLine("tensor " + name + " has " + e.getValue().byteSize()
                        + " bytes, its shape and type need " + t.byteSize()));
            }
            infos.put(name, t);
            segs.put(name, e.getValue());
        }
        return new GgufFile(path, arena, MemorySegment.NULL, 3, Collections.unmodifiableMap(new LinkedHashMap<>(metadata)),
                Collections.unmodifiableMap(infos), DEFAULT_ALIGNMENT, 0, Collections.unmodifiableMap(segs), rotateHalfQk);
    }

    /** Whether this is an {@link #assembled} description rather than a GGUF file. */
    public boolean isAssembled() {
        return tensorSegments != null;
    }

    /**
     * Whether the rows of each head of {@code attn_q} / {@code attn_k} hold the rotated pairs (i, i + d/2), as Hugging
     * Face checkpoints store them, rather than (2i, 2i + 1) as llama.cpp's converter permutes them for the llama
     * architecture: rope over the former pairs on the stored rows equals rope over the latter on permuted rows, so a
     * directory runs as stored, with no copy of its weights.
     */
    public boolean rotateHalfQk() {
        return rotateHalfQk;
    }

    /** Maps and parses {@code path}; throws {@link GgufFormatException} / {@link MetagenException} on bad input. */
    public static GgufFile open(Path path) {
        if (!Files.exists(path)) {
            throw new MetagenException("model file not found: " + path);
        }
        if (Files.isDirectory(path)) {
            throw new MetagenException("model path is a directory, not a GGUF file: " + path
                    + " (a Hugging Face model directory runs as --model DIR; metagen convert writes it as GGUF)");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment seg = size == 0 ? MemorySegment.NULL.reinterpret(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            GgufFile f = new Parser(path, seg).parse(arena);
            return f;
        } catch (NoSuchFileException e) {
            arena.close();
            throw new MetagenException("model file not found: " + path);
        } catch (IOException e) {
            arena.close();
            throw new MetagenException("cannot read " + path + ": " + MetagenException.describe(e), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** Byte offset of the tensor data section in the file. */
    public long dataOffset() {
        return dataOffset;
    }

    /** The file's size; for an {@link #assembled} description, the bytes of its tensors. */
    public long fileSize() {
        if (tensorSegments != null) {
            return tensorSegments.values().stream().mapToLong(MemorySegment::byteSize).sum();
        }
        return file.byteSize();
    }

    /** All metadata in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** All tensor infos in file order. */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public GgufValue get(String key) {
        return metadata.get(key);
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public String getString(String key, String fallback) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        if (v.type() != GgufValueType.STRING) {
            throw typeError(key, "a string", v);
        }
        return (String) v.value();
    }

    public String requireString(String key) {
        String s = getString(key, null);
        if (s == null) {
            throw missing(key);
        }
        return s;
    }

    public long getLong(String key, long fallback) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        Long l = v.asLong();
        if (l == null) {
            throw typeError(key, "an integer", v);
        }
        return l;
    }

    public int getInt(String key, int fallback) {
        long l = getLong(key, fallback);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new GgufFormatException(path + ": metadata " + key + " = " + l + " is out of range");
        }
        return (int) l;
    }

    public int requireInt(String key) {
        if (!has(key)) {
            throw missing(key);
        }
        return getInt(key, 0);
    }

    public float getFloat(String key, float fallback) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.value();
            case FLOAT64 -> (float) (double) (Double) v.value();
            default -> {
                Long l = v.asLong();
                if (l == null) {
                    throw typeError(key, "a number", v);
                }
                yield l;
            }
        };
    }

    public boolean getBool(String key, boolean fallback) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        if (v.type() != GgufValueType.BOOL) {
            throw typeError(key, "a bool", v);
        }
        return (Boolean) v.value();
    }

    public String[] getStringArray(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v.type() != GgufValueType.ARRAY || v.elementType() != GgufValueType.STRING) {
            throw typeError(key, "an array of strings", v);
        }
        return (String[]) v.value();
    }

    public float[] getFloatArray(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v.type() != GgufValueType.ARRAY || v.elementType() != GgufValueType.FLOAT32) {
            throw typeError(key, "an array of float32", v);
        }
        return (float[]) v.value();
    }

    /** An array of 32-bit integers (int32 or uint32; also accepts 8/16-bit integer arrays, widened). */
    public int[] getIntArray(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v.type() == GgufValueType.ARRAY) {
            switch (v.value()) {
                case int[] a -> {
                    return a;
                }
                case byte[] a -> {
                    int[] r = new int[a.length];
                    for (int i = 0; i < a.length; i++) {
                        r[i] = v.elementType() == GgufValueType.UINT8 ? a[i] & 0xFF : a[i];
                    }
                    return r;
                }
                case short[] a -> {
                    int[] r = new int[a.length];
                    for (int i = 0; i < a.length; i++) {
                        r[i] = v.elementType() == GgufValueType.UINT16 ? a[i] & 0xFFFF : a[i];
                    }
                    return r;
                }
                default -> {
                }
            }
        }
        throw typeError(key, "an array of integers", v);
    }

    public GgufTensorInfo tensorInfo(String name) {
        return tensors.get(name);
    }

    /** The bytes of a tensor, a slice of the mapping. */
    public MemorySegment tensorData(GgufTensorInfo t) {
        if (t.type() == null) {
            throw new MetagenException(path + ": " + oneLine("tensor " + t.name() + " has unknown ggml type id " + t.typeId()));
        }
        if (tensorSegments != null) {
            MemorySegment s = tensorSegments.get(t.name());
            if (s == null) {
                throw new MetagenException(path + ": " + oneLine("no data for tensor " + t.name()));
            }
            return s;
        }
        return file.asSlice(dataOffset + t.offset(), t.byteSize());
    }

    /** The tensor {@code t}, viewed as a matrix (dimensions above the second are folded into rows). */
    public Matrix matrix(GgufTensorInfo t) {
        long[] s = t.shape();
        long rows = 1;
        for (int i = 1; i < s.length; i++) {
            rows *= s[i];
        }
        return new Matrix(t.name(), t.type(), tensorData(t), Math.toIntExact(s[0]), Math.toIntExact(rows));
    }

    /** The whole mapped file. */
    public MemorySegment segment() {
        return file;
    }

    /**
     * An error about this file's content that the caller found ({@code problem} names the key or tensor): the message
     * starts with the file's path and stays on one line even when it quotes text from the file.
     */
    public GgufFormatException invalid(String problem) {
        return new GgufFormatException(path + ": " + oneLine(problem));
    }

    private GgufFormatException typeError(String key, String expected, GgufValue v) {
        String got = v.type() == GgufValueType.ARRAY ? "array of " + v.elementType() : v.type().name();
        return new GgufFormatException(path + ": " + oneLine("metadata " + key + " should be " + expected + " but is " + got));
    }

    private GgufFormatException missing(String key) {
        return new GgufFormatException(path + ": " + oneLine("required metadata key " + key + " is missing"));
    }

    /**
     * Keys and tensor names come from the file, so a corrupt one may hold newlines or be megabytes long:
     * control characters are escaped and an overlong message keeps its head and tail, so errors stay one line.
     */
    public static String oneLine(String msg) {
        StringBuilder sb = new StringBuilder(Math.min(msg.length(), 1024));
        for (int i = 0; i < msg.length(); i++) {
            char c = msg.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
                            || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                        sb.append(c <= 0xFF ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        int max = 480;
        if (sb.length() <= max) {
            return sb.toString();
        }
        return sb.substring(0, max / 2) + " ... (" + (sb.length() - max) + " characters left out) ... " + sb.substring(sb.length() - max / 2);
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Bounds-checked cursor over the header. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment seg;
        private final long size;
        private long pos;

        Parser(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        GgufFile parse(Arena arena) {
            if (size < 4) {
                throw error("file is too short to be GGUF (" + size + " bytes)");
            }
            int magic = seg.get(INT, 0);
            if (magic != MAGIC) {
                throw new GgufFormatException(path + ": not a GGUF file (bad magic " + magicText(magic) + " at byte 0)");
            }
            pos = 4;
            int version = readInt("version");
            if (version == 1) {
                throw error("GGUF version 1 is not supported (versions 2 and 3 are)");
            }
            if (version != 2 && version != 3) {
                if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                    throw error("big-endian GGUF files are not supported");
                }
                throw error("unsupported GGUF version " + Integer.toUnsignedString(version) + " at byte 4 (versions 2 and 3 are)");
            }
            long tensorCount = readLong("tensor count");
            long kvCount = readLong("metadata count");
            // each metadata pair takes at least 12 bytes, each tensor info at least 24
            if (kvCount < 0 || kvCount > (size - pos) / 12) {
                throw error("metadata count " + Long.toUnsignedString(kvCount) + " at byte 16 is larger than the file can hold");
            }
            if (tensorCount < 0 || tensorCount > (size - pos) / 24) {
                throw error("tensor count " + Long.toUnsignedString(tensorCount) + " at byte 8 is larger than the file can hold");
            }
            Map<String, GgufValue> meta = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                long at = pos;
                String key = readString("metadata key");
                int typeId = readInt("type of " + key);
                GgufValueType type = GgufValueType.byId(typeId);
                if (type == null) {
                    throw error("metadata " + key + " has unknown value type " + typeId + " (at byte " + (pos - 4) + ")");
                }
                GgufValue v = readValue(key, type, 0);
                if (meta.put(key, v) != null) {
                    throw error("duplicate metadata key " + key + " at byte " + at);
                }
            }
            int alignment = DEFAULT_ALIGNMENT;
            GgufValue al = meta.get("general.alignment");
            if (al != null) {
                Long a = al.asLong();
                if (a == null || a <= 0 || Long.bitCount(a) != 1 || a > (1 << 20)) {
                    throw error("general.alignment must be a power of two, got " + al.display(4));
                }
                alignment = (int) (long) a;
            }
            Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                long at = pos;
                String name = readString("tensor name");
                int nDims = readInt("dimension count of " + name);
                if (nDims < 1 || nDims > MAX_DIMS) {
                    throw error("tensor " + name + " has " + nDims + " dimensions (1 to " + MAX_DIMS + " allowed), at byte " + at);
                }
                long[] shape = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++) {
                    shape[d] = readLong("dimension of " + name);
                    if (shape[d] <= 0 || shape[d] > (1L << 40)) {
                        throw error("tensor " + name + " has an absurd dimension " + Long.toUnsignedString(shape[d]));
                    }
                    try {
                        elements = Math.multiplyExact(elements, shape[d]);
                    } catch (ArithmeticException e) {
                        throw error("tensor " + name + " has too many elements");
                    }
                }
                int typeId = readInt("type of " + name);
                GgmlType type = GgmlType.byId(typeId);
                long offset = readLong("offset of " + name);
                if (type != null && shape[0] % type.blockSize != 0) {
                    throw error("tensor " + name + " of type " + type + " has row length " + shape[0]
                            + ", not a multiple of its block size " + type.blockSize);
                }
                if (offset < 0 || offset % alignment != 0) {
                    throw error("tensor " + name + " has offset " + Long.toUnsignedString(offset)
                            + " that is not a multiple of the alignment " + alignment);
                }
                GgufTensorInfo t = new GgufTensorInfo(name, shape, type, typeId, offset);
                if (tensors.put(name, t) != null) {
                    throw error("duplicate tensor name " + name);
                }
            }
            long dataOffset = align(pos, alignment);
            long dataSize = Math.max(0, size - dataOffset);
            for (GgufTensorInfo t : tensors.values()) {
                if (t.type() == null) {
                    continue; // reported when used, so inspect can still list it
                }
                long bytes;
                try {
                    bytes = t.byteSize();
                } catch (ArithmeticException e) {
                    throw error("tensor " + t.name() + " is too large");
                }
                if (t.offset() > dataSize || bytes > dataSize - t.offset()) {
                    throw error("tensor " + t.name() + " (" + t.typeName() + ", " + bytes + " bytes at data offset "
                            + t.offset() + ") extends past the end of the file (" + dataSize
                            + " bytes of tensor data): the file is truncated or corrupt");
                }
            }
            return new GgufFile(path, arena, seg, version, Collections.unmodifiableMap(meta),
                    Collections.unmodifiableMap(tensors), alignment, dataOffset);
        }

        private GgufValue readValue(String key, GgufValueType type, int depth) {
            return switch (type) {
                case UINT8, INT8 -> new GgufValue(type, null, seg.get(ValueLayout.JAVA_BYTE, need(1, key)));
                case UINT16, INT16 -> new GgufValue(type, null, seg.get(SHORT, need(2, key)));
                case UINT32, INT32 -> new GgufValue(type, null, seg.get(INT, need(4, key)));
                case UINT64, INT64 -> new GgufValue(type, null, seg.get(LONG, need(8, key)));
                case FLOAT32 -> new GgufValue(type, null, seg.get(FLOAT, need(4, key)));
                case FLOAT64 -> new GgufValue(type, null, seg.get(DOUBLE, need(8, key)));
                case BOOL -> new GgufValue(type, null, readBool(key));
                case STRING -> new GgufValue(type, null, readString(key));
                case ARRAY -> readArray(key, depth);
            };
        }

        private GgufValue readArray(String key, int depth) {
            if (depth > 8) {
                throw error("metadata " + key + " nests arrays too deeply");
            }
            int elemId = readInt("array type of " + key);
            GgufValueType et = GgufValueType.byId(elemId);
            if (et == null) {
                throw error("metadata " + key + " is an array of unknown type " + elemId);
            }
            long n = readLong("array length of " + key);
            long minSize = et.size > 0 ? et.size : (et == GgufValueType.STRING ? 8 : 12);
            if (n < 0 || n > (size - pos) / minSize || n > Integer.MAX_VALUE - 8) {
                throw error("metadata " + key + " claims " + Long.toUnsignedString(n) + " elements, more than the file holds");
            }
            int count = (int) n;
            Object arr = switch (et) {
                case UINT8, INT8 -> {
                    byte[] a = new byte[count];
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, need((long) count, key), a, 0, count);
                    yield a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[count];
                    for (int i = 0; i < count; i++) {
                        a[i] = readBool(key);
                    }
                    yield a;
                }
                case UINT16, INT16 -> {
                    short[] a = new short[count];
                    MemorySegment.copy(seg, SHORT, need(2L * count, key), a, 0, count);
                    yield a;
                }
                case UINT32, INT32 -> {
                    int[] a = new int[count];
                    MemorySegment.copy(seg, INT, need(4L * count, key), a, 0, count);
                    yield a;
                }
                case UINT64, INT64 -> {
                    long[] a = new long[count];
                    MemorySegment.copy(seg, LONG, need(8L * count, key), a, 0, count);
                    yield a;
                }
                case FLOAT32 -> {
                    float[] a = new float[count];
                    MemorySegment.copy(seg, FLOAT, need(4L * count, key), a, 0, count);
                    yield a;
                }
                case FLOAT64 -> {
                    double[] a = new double[count];
                    MemorySegment.copy(seg, DOUBLE, need(8L * count, key), a, 0, count);
                    yield a;
                }
                case STRING -> {
                    String[] a = new String[count];
                    for (int i = 0; i < count; i++) {
                        a[i] = readString(key);
                    }
                    yield a;
                }
                case ARRAY -> {
                    List<GgufValue> l = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        l.add(readArray(key, depth + 1));
                    }
                    yield Collections.unmodifiableList(l);
                }
            };
            return new GgufValue(GgufValueType.ARRAY, et, arr);
        }

        private boolean readBool(String key) {
            byte b = seg.get(ValueLayout.JAVA_BYTE, need(1, key));
            if (b != 0 && b != 1) {
                throw error("metadata " + key + " has an invalid bool byte " + b + " at byte " + (pos - 1));
            }
            return b == 1;
        }

        private String readString(String what) {
            long at = pos;
            long len = readLong("length of " + what);
            if (len < 0 || len > size - pos) {
                throw error("string (" + what + ") at byte " + at + " claims " + Long.toUnsignedString(len)
                        + " bytes, past the end of the file");
            }
            if (len > Integer.MAX_VALUE - 8) {
                throw error("string (" + what + ") at byte " + at + " is too long");
            }
            byte[] b = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, need(len, what), b, 0, b.length);
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                // some vocabularies store invalid UTF-8 pieces; keep them readable rather than fail
                return new String(b, StandardCharsets.UTF_8);
            }
        }

        private int readInt(String what) {
            return seg.get(INT, need(4, what));
        }

        private long readLong(String what) {
            return seg.get(LONG, need(8, what));
        }

        /** Reserves {@code n} bytes at the cursor and returns their offset, or fails naming {@code what}. */
        private long need(long n, String what) {
            if (n < 0 || pos + n > size) {
                throw error("unexpected end of file reading " + what + " at byte " + pos
                        + " (file has " + size + " bytes): the file is truncated or corrupt");
            }
            long at = pos;
            pos += n;
            return at;
        }

        private GgufFormatException error(String msg) {
            return new GgufFormatException(path + ": " + oneLine(msg));
        }

        private static String magicText(int magic) {
            StringBuilder sb = new StringBuilder("\"");
            for (int i = 0; i < 4; i++) {
                int c = (magic >>> (8 * i)) & 0xFF;
                sb.append(c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\x%02x", c));
            }
            return sb.append('"').toString();
        }
    }

    static long align(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }
}
