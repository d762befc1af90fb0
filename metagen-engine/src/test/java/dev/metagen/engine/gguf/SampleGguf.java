package dev.metagen.engine.gguf;

import dev.metagen.engine.tensor.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/** A small GGUF with every metadata value type (nested arrays included) and tensors of several shapes, for tests. */
final class SampleGguf {
    private SampleGguf() {}

    static GgufWriter writer() {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.name", "sample ünïcödé ✓");
        w.put("u8", new GgufValue(GgufValueType.UINT8, null, (byte) 0xFE));
        w.put("i8", new GgufValue(GgufValueType.INT8, null, (byte) -7));
        w.put("u16", new GgufValue(GgufValueType.UINT16, null, (short) 0xFFFE));
        w.put("i16", new GgufValue(GgufValueType.INT16, null, (short) -12345));
        w.put("u32", GgufValue.ofUInt32(0xFFFFFFFE));
        w.put("i32", GgufValue.ofInt32(Integer.MIN_VALUE));
        w.put("u64", new GgufValue(GgufValueType.UINT64, null, -2L));
        w.put("i64", new GgufValue(GgufValueType.INT64, null, Long.MIN_VALUE + 1));
        w.put("f32", GgufValue.ofFloat32(-0.0f));
        w.put("f32.nan", GgufValue.ofFloat32(Float.intBitsToFloat(0x7fc00001)));
        w.put("f64", new GgufValue(GgufValueType.FLOAT64, null, Math.PI));
        w.put("bool", GgufValue.ofBool(true));
        w.put("string.empty", GgufValue.of(""));
        w.put("arr.u8", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT8, new byte[] {0, 1, (byte) 255}));
        w.put("arr.i8", new GgufValue(GgufValueType.ARRAY, GgufValueType.INT8, new byte[] {-128, 127}));
        w.put("arr.u16", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT16, new short[] {1, (short) 65535}));
        w.put("arr.i16", new GgufValue(GgufValueType.ARRAY, GgufValueType.INT16, new short[] {-1, 2}));
        w.put("arr.u32", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT32, new int[] {-1, 3}));
        w.put("arr.i32", GgufValue.ofInt32Array(new int[] {1, -2, 3}));
        w.put("arr.u64", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT64, new long[] {-1L, 5}));
        w.put("arr.i64", new GgufValue(GgufValueType.ARRAY, GgufValueType.INT64, new long[] {Long.MIN_VALUE, 0}));
        w.put("arr.f32", GgufValue.ofArray(new float[] {1.5f, Float.NEGATIVE_INFINITY, Float.MIN_VALUE}));
        w.put("arr.f64", new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT64, new double[] {-2.25, Double.MAX_VALUE}));
        w.put("arr.bool", new GgufValue(GgufValueType.ARRAY, GgufValueType.BOOL, new boolean[] {true, false, true}));
        w.put("arr.string", GgufValue.ofArray(new String[] {"a", "", "▁Once", "<0x0A>"}));
        w.put("arr.empty", GgufValue.ofInt32Array(new int[0]));
        // arrays of arrays: [[1, 2], [3]] and [[["x"]], []]
        w.put("arr.nested", new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, List.of(
                GgufValue.ofInt32Array(new int[] {1, 2}), GgufValue.ofInt32Array(new int[] {3}))));
        w.put("arr.nested2", new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, List.of(
                new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, List.of(GgufValue.ofArray(new String[] {"x"}))),
                new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, List.of()))));
        w.put("tokenizer.ggml.tokens", GgufValue.ofArray(new String[] {"<unk>", "<s>", "</s>", "a"}));
        w.addTensor("vec", new long[] {8}, GgmlType.F32, () -> f32(8, 1));
        w.addTensor("mat", new long[] {16, 3}, GgmlType.F32, () -> f32(48, 2));
        w.addTensor("cube", new long[] {4, 2, 2}, GgmlType.F32, () -> f32(16, 3));
        w.addTensor("q8", new long[] {32, 2}, GgmlType.Q8_0, () -> pattern(2 * 34, 4));
        return w;
    }

    static Path write(Path out) {
        writer().write(out);
        return out;
    }

    /** {@code n} little-endian floats {@code seed * 1000 + i}. */
    static byte[] f32(int n, int seed) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(seed * 1000 + i);
        }
        return b.array();
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }
}
