package dev.metagen.engine.gguf;

import dev.metagen.engine.tensor.GgmlType;

/**
 * A tensor's entry in a GGUF file.
 *
 * @param shape  dimensions in ggml order (ne0 first: ne0 is the row length)
 * @param type   its element type, or {@code null} if the file names a type id metagen does not know
 * @param typeId the raw type id from the file
 * @param offset byte offset of the data, relative to the start of the tensor data section
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, int typeId, long offset) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteSize() {
        return type.byteSize(elementCount());
    }

    public String typeName() {
        return type != null ? type.name() : "type#" + typeId;
    }
}
