package dev.metagen.engine.gguf;

import java.util.Arrays;
import java.util.List;

/**
 * A GGUF metadata value. Scalars are boxed Java values holding the raw bits ({@code Byte}, {@code Short},
 * {@code Integer}, {@code Long} for the integer types, {@code Float}, {@code Double}, {@code Boolean},
 * {@code String}); arrays of scalars are primitive arrays of the same width ({@code byte[]}, {@code short[]},
 * {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}) and
 * arrays of arrays are {@code List<GgufValue>}.
 *
 * @param elementType for arrays, the type of the elements; otherwise {@code null}
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufValue of(String s) {
        return new GgufValue(GgufValueType.STRING, null, s);
    }

    public static GgufValue ofUInt32(int v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue ofInt32(int v) {
        return new GgufValue(GgufValueType.INT32, null, v);
    }

    public static GgufValue ofFloat32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue ofArray(String[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, v);
    }

    public static GgufValue ofArray(float[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, v);
    }

    public static GgufValue ofInt32Array(int[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, v);
    }

    /** Number of elements of an array value. */
    public int arrayLength() {
        return switch (value) {
            case byte[] a -> a.length;
            case short[] a -> a.length;
            case int[] a -> a.length;
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case String[] a -> a.length;
            case List<?> l -> l.size();
            default -> throw new IllegalStateException("not an array: " + type);
        };
    }

    /** The value as a long, honouring unsigned types; {@code null} if not an integer. */
    public Long asLong() {
        return switch (type) {
            case UINT8 -> (long) ((Byte) value & 0xFF);
            case INT8 -> (long) (Byte) value;
            case UINT16 -> (long) ((Short) value & 0xFFFF);
            case INT16 -> (long) (Short) value;
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT32 -> (long) (Integer) value;
            case UINT64, INT64 -> (Long) value;
            default -> null;
        };
    }

    /** A short human-readable rendering (long arrays abbreviated). */
    public String display(int maxElements) {
        if (type != GgufValueType.ARRAY) {
            return type == GgufValueType.STRING ? quote((String) value) : String.valueOf(displayScalar());
        }
        int n = arrayLength();
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < Math.min(n, maxElements); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(elementDisplay(i));
        }
        if (n > maxElements) {
            sb.append(", ... (").append(n).append(" ").append(elementType.name().toLowerCase()).append(")");
        }
        return sb.append("]").toString();
    }

    /** A JSON-friendly Java value: numbers, booleans, strings, lists. */
    public Object toPlain() {
        if (type != GgufValueType.ARRAY) {
            return displayScalar();
        }
        int n = arrayLength();
        Object[] out = new Object[n];
        for (int i = 0; i < n; i++) {
            out[i] = elementPlain(i);
        }
        return Arrays.asList(out);
    }

    private Object displayScalar() {
        Long l = asLong();
        return l != null ? l : value;
    }

    private Object elementPlain(int i) {
        return switch (value) {
            case byte[] a -> elementType == GgufValueType.UINT8 ? (Object) (a[i] & 0xFF) : (Object) a[i];
            case short[] a -> elementType == GgufValueType.UINT16 ? (Object) (a[i] & 0xFFFF) : (Object) a[i];
            case int[] a -> elementType == GgufValueType.UINT32 ? (Object) Integer.toUnsignedLong(a[i]) : (Object) a[i];
            case long[] a -> elementType == GgufValueType.UINT64 ? (Object) Long.toUnsignedString(a[i]) : (Object) a[i];
            case float[] a -> a[i];
            case double[] a -> a[i];
            case boolean[] a -> a[i];
            case String[] a -> a[i];
            case List<?> l -> ((GgufValue) l.get(i)).toPlain();
            default -> throw new IllegalStateException();
        };
    }

    private String elementDisplay(int i) {
        Object o = elementPlain(i);
        if (value instanceof List<?> l) {
            return ((GgufValue) l.get(i)).display(8);
        }
        return o instanceof String s ? quote(s) : String.valueOf(o);
    }

    private static String quote(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return '"' + t.replace("\\", "\\\\").replace("\n", "\\n").replace("\"", "\\\"") + '"';
    }
}
