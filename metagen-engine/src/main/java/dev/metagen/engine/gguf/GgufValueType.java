package dev.metagen.engine.gguf;

/** GGUF metadata value types (gguf.h {@code gguf_type}). */
public enum GgufValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(-1), ARRAY(-1),
    UINT64(8), INT64(8), FLOAT64(8);

    /** Fixed size in bytes, or -1 for strings and arrays. */
    public final int size;

    GgufValueType(int size) {
        this.size = size;
    }

    public static GgufValueType byId(int id) {
        GgufValueType[] v = values();
        return id >= 0 && id < v.length ? v[id] : null;
    }

    public int id() {
        return ordinal();
    }
}
