package dev.metagen.engine.gguf;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.tensor.GgmlType;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF version 3 files: metadata in insertion order, then tensor infos, then aligned tensor data.
 * Tensor data is supplied as raw bytes already in the tensor's ggml type.
 */
public final class GgufWriter {

    /** Supplies a tensor's bytes when the file is written, so large files need not sit in memory at once. */
    @FunctionalInterface
    public interface TensorBytes {
        byte[] get();
    }

    private record PendingTensor(String name, long[] shape, GgmlType type, TensorBytes data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    public GgufWriter put(String key, GgufValue value) {
        if (key.equals("general.alignment")) {
            Long a = value.asLong();
            if (a == null || a <= 0 || Long.bitCount(a) != 1 || a > (1 << 20)) {
                throw new MetagenException("general.alignment must be a power of two up to 2^20, got " + value.display(4));
            }
            alignment = (int) (long) a;
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String v) {
        return put(key, GgufValue.of(v));
    }

    public GgufWriter putUInt32(String key, int v) {
        return put(key, GgufValue.ofUInt32(v));
    }

    public GgufWriter putFloat32(String key, float v) {
        return put(key, GgufValue.ofFloat32(v));
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, GgufValue.ofBool(v));
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Adds a tensor; {@code shape} is in ggml order (row length first). */
    public GgufWriter addTensor(String name, long[] shape, GgmlType type, TensorBytes data) {
        tensors.add(new PendingTensor(name, shape.clone(), type, data));
        return this;
    }

    public void write(Path out) {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            write(os);
        } catch (IOException e) {
            throw new MetagenException("cannot write " + out + ": " + MetagenException.describe(e), e);
        }
    }

    public void write(OutputStream os) throws IOException {
        Out o = new Out(os);
        o.i32(GgufFile.MAGIC);
        o.i32(3);
        o.i64(tensors.size());
        o.i64(metadata.size());
        for (var e : metadata.entrySet()) {
            o.str(e.getKey());
            o.i32(e.getValue().type().id());
            writeValue(o, e.getValue());
        }
        long offset = 0;
        for (PendingTensor t : tensors) {
            o.str(t.name);
            o.i32(t.shape.length);
            long n = 1;
            for (long d : t.shape) {
                o.i64(d);
                n *= d;
            }
            o.i32(t.type.id);
            o.i64(offset);
            offset = GgufFile.align(offset + t.type.byteSize(n), alignment);
        }
        o.pad(alignment);
        long start = o.count;
        for (PendingTensor t : tensors) {
            long n = 1;
            for (long d : t.shape) {
                n *= d;
            }
            byte[] b = t.data.get();
            if (b.length != t.type.byteSize(n)) {
                throw new MetagenException("tensor " + t.name + ": got " + b.length + " bytes, expected "
                        + t.type.byteSize(n) + " for " + n + " elements of " + t.type);
            }
            o.bytes(b);
            long rel = o.count - start;
            o.zeros(GgufFile.align(rel, alignment) - rel);
        }
        o.flush();
    }

    private static void writeValue(Out o, GgufValue v) throws IOException {
        switch (v.type()) {
            case UINT8, INT8 -> o.u8((Byte) v.value());
            case BOOL -> o.u8((byte) ((Boolean) v.value() ? 1 : 0));
            case UINT16, INT16 -> o.i16((Short) v.value());
            case UINT32, INT32 -> o.i32((Integer) v.value());
            case UINT64, INT64 -> o.i64((Long) v.value());
            case FLOAT32 -> o.i32(Float.floatToRawIntBits((Float) v.value()));
            case FLOAT64 -> o.i64(Double.doubleToRawLongBits((Double) v.value()));
            case STRING -> o.str((String) v.value());
            case ARRAY -> writeArray(o, v);
        }
    }

    /** Element type, count, then the elements; arrays of arrays recurse without a per-element type tag. */
    private static void writeArray(Out o, GgufValue v) throws IOException {
        o.i32(v.elementType().id());
        o.i64(v.arrayLength());
        switch (v.value()) {
            case byte[] a -> o.bytes(a);
            case boolean[] a -> {
                for (boolean b : a) {
                    o.u8((byte) (b ? 1 : 0));
                }
            }
            case short[] a -> {
                for (short s : a) {
                    o.i16(s);
                }
            }
            case int[] a -> {
                for (int x : a) {
                    o.i32(x);
                }
            }
            case long[] a -> {
                for (long x : a) {
                    o.i64(x);
                }
            }
            case float[] a -> {
                for (float x : a) {
                    o.i32(Float.floatToRawIntBits(x));
                }
            }
            case double[] a -> {
                for (double x : a) {
                    o.i64(Double.doubleToRawLongBits(x));
                }
            }
            case String[] a -> {
                for (String s : a) {
                    o.str(s);
                }
            }
            case List<?> l -> {
                for (Object x : l) {
                    writeArray(o, (GgufValue) x);
                }
            }
            default -> throw new IllegalStateException("not an array value: " + v.value());
        }
    }

    private static final class Out {
        final OutputStream os;
        final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long count;

        Out(OutputStream os) {
            this.os = os;
        }

        void u8(byte b) throws IOException {
            os.write(b);
            count++;
        }

        void i16(short v) throws IOException {
            buf.clear();
            buf.putShort(v);
            os.write(buf.array(), 0, 2);
            count += 2;
        }

        void i32(int v) throws IOException {
            buf.clear();
            buf.putInt(v);
            os.write(buf.array(), 0, 4);
            count += 4;
        }

        void i64(long v) throws IOException {
            buf.clear();
            buf.putLong(v);
            os.write(buf.array(), 0, 8);
            count += 8;
        }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            os.write(b);
            count += b.length;
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) {
                os.write(0);
            }
            count += n;
        }

        void pad(int alignment) throws IOException {
            zeros(GgufFile.align(count, alignment) - count);
        }

        void flush() throws IOException {
            os.flush();
        }
    }
}
