package dev.metagen.engine.gguf;

import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** GgufWriter → GgufFile keeps every value and tensor byte; files over 2 GiB map and read correctly. */
class GgufRoundTripTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    @Test
    void everyValueTypeAndNestedArraySurvivesARoundTrip() {
        GgufWriter w = SampleGguf.writer();
        Path p = dir.resolve("sample.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(List.copyOf(w.metadata().keySet()), List.copyOf(f.metadata().keySet()), "keys in file order");
            for (Map.Entry<String, GgufValue> e : w.metadata().entrySet()) {
                assertValueEquals(e.getValue(), f.get(e.getKey()), e.getKey());
            }
            assertEquals(List.of("vec", "mat", "cube", "q8"), List.copyOf(f.tensors().keySet()));
            assertArrayEquals(new long[] {4, 2, 2}, f.tensorInfo("cube").shape());
            assertEquals(GgmlType.Q8_0, f.tensorInfo("q8").type());
            assertArrayEquals(SampleGguf.f32(48, 2), f.tensorData(f.tensorInfo("mat")).toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(SampleGguf.pattern(68, 4), f.tensorData(f.tensorInfo("q8")).toArray(ValueLayout.JAVA_BYTE));
            for (GgufTensorInfo t : f.tensors().values()) {
                assertEquals(0, t.offset() % f.alignment(), t.name() + " is aligned");
            }
            // typed accessors agree with the raw values
            assertEquals(0xFFFFFFFEL, f.getLong("u32", 0));
            assertEquals(-2L, f.getLong("u64", 0));
            assertEquals(254, f.getInt("u8", 0));
            assertEquals((float) Math.PI, f.getFloat("f64", 0));
            assertArrayEquals(new int[] {0, 1, 255}, f.getIntArray("arr.u8"));
            assertArrayEquals(new int[] {1, 65535}, f.getIntArray("arr.u16"));
            assertTrue(f.getBool("bool", false));
            assertEquals("sample ünïcödé ✓", f.getString("general.name", null));
        }
    }

    @Test
    void stories260kRewrittenByGgufWriterIsByteIdentical() throws IOException {
        // the converter's file and ours follow the same layout rules, so a rewrite reproduces every byte
        byte[] original = Files.readAllBytes(SharedData.stories260k());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach(w::put);
            for (GgufTensorInfo t : f.tensors().values()) {
                w.addTensor(t.name(), t.shape(), t.type(), () -> f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            w.write(out);
        }
        assertArrayEquals(original, out.toByteArray());
    }

    @Test
    void tensorDataBeyondTwoGibibytesIsReadable() throws IOException {
        // one F32 tensor [1024, 524289]: 2 GiB + 4 KiB of data, in a sparse file (only the written pages use disk)
        long cols = 1024, rows = 524_289;
        long bytes = cols * rows * 4;
        assertTrue(bytes > (1L << 31));
        byte[] header = header("big", new long[] {cols, rows});
        long dataOffset = GgufFile.align(header.length, GgufFile.DEFAULT_ALIGNMENT);
        Path p = dir.resolve("big.gguf");
        float[] lastRow = new float[(int) cols];
        for (int i = 0; i < cols; i++) {
            lastRow[i] = i * 0.5f - 7;
        }
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.write(header);
            raf.setLength(dataOffset + bytes);
            ByteBuffer b = ByteBuffer.allocate((int) cols * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : lastRow) {
                b.putFloat(v);
            }
            raf.seek(dataOffset + bytes - cols * 4);
            raf.write(b.array());
            raf.seek(dataOffset + (1L << 31) - 4); // the last float before 2 GiB into the data (the last row starts there)
            raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(42.25f).array());
        }
        try (GgufFile f = GgufFile.open(p)) {
            GgufTensorInfo t = f.tensorInfo("big");
            MemorySegment data = f.tensorData(t);
            assertEquals(bytes, data.byteSize());
            assertEquals(42.25f, data.get(F32, (1L << 31) - 4));
            assertEquals(0f, data.get(F32, (1L << 31) - 8), "sparse holes read as zero");
            assertEquals(lastRow[(int) cols - 1], data.get(F32, bytes - 4));
            float[] row = new float[(int) cols];
            f.matrix(t).dequantizeRow((int) rows - 1, row, 0);
            assertArrayEquals(lastRow, row);
        }
    }

    /** A GGUF v3 header with general.architecture and one F32 tensor at data offset 0. */
    static byte[] header(String tensor, long[] shape) {
        List<byte[]> parts = new ArrayList<>();
        parts.add(le(4).putInt(GgufFile.MAGIC).array());
        parts.add(le(4).putInt(3).array());
        parts.add(le(8).putLong(1).array());
        parts.add(le(8).putLong(1).array());
        parts.add(str("general.architecture"));
        parts.add(le(4).putInt(GgufValueType.STRING.id()).array());
        parts.add(str("llama"));
        parts.add(str(tensor));
        parts.add(le(4).putInt(shape.length).array());
        for (long d : shape) {
            parts.add(le(8).putLong(d).array());
        }
        parts.add(le(4).putInt(GgmlType.F32.id).array());
        parts.add(le(8).putLong(0).array());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(out::writeBytes);
        return out.toByteArray();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return le(8 + b.length).putLong(b.length).put(b).array();
    }

    /** Deep equality of two values: type, element type and every element, recursing into nested arrays. */
    static void assertValueEquals(GgufValue expected, GgufValue actual, String key) {
        assertNotNull(actual, key + " is missing");
        assertEquals(expected.type(), actual.type(), key + " type");
        assertEquals(expected.elementType(), actual.elementType(), key + " element type");
        if (expected.type() != GgufValueType.ARRAY) {
            assertEquals(expected.value(), actual.value(), key); // boxed equals compares float bits (NaN, -0.0)
            return;
        }
        assertEquals(expected.arrayLength(), actual.arrayLength(), key + " length");
        switch (expected.value()) {
            case byte[] a -> assertArrayEquals(a, (byte[]) actual.value(), key);
            case short[] a -> assertArrayEquals(a, (short[]) actual.value(), key);
            case int[] a -> assertArrayEquals(a, (int[]) actual.value(), key);
            case long[] a -> assertArrayEquals(a, (long[]) actual.value(), key);
            case float[] a -> assertArrayEquals(a, (float[]) actual.value(), key);
            case double[] a -> assertArrayEquals(a, (double[]) actual.value(), key);
            case boolean[] a -> assertArrayEquals(a, (boolean[]) actual.value(), key);
            case String[] a -> assertArrayEquals(a, (String[]) actual.value(), key);
            case List<?> l -> {
                List<?> m = (List<?>) actual.value();
                for (int i = 0; i < l.size(); i++) {
                    assertValueEquals((GgufValue) l.get(i), (GgufValue) m.get(i), key + "[" + i + "]");
                }
            }
            default -> fail("unexpected array representation for " + key);
        }
    }
}
