package dev.metagen.engine.tensor;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

/** The kernel registry: one {@link TypeKernel} per supported {@link GgmlType}. */
public final class TypeKernels {
    private static final Map<GgmlType, TypeKernel> KERNELS = new EnumMap<>(GgmlType.class);

    static {
        register(new F32Kernel());
    }

    private TypeKernels() {}

    private static void register(TypeKernel k) {
        KERNELS.put(k.type(), k);
    }

    /** The kernel of {@code type}; {@code tensor} names the tensor in the error if the type is unsupported. */
    public static TypeKernel of(GgmlType type, String tensor) {
        TypeKernel k = type == null ? null : KERNELS.get(type);
        if (k == null) {
            throw new UnsupportedTensorTypeException(tensor, type == null ? "unknown" : type.name());
        }
        return k;
    }

    public static boolean isSupported(GgmlType type) {
        return KERNELS.containsKey(type);
    }

    static String supportedNames() {
        return KERNELS.keySet().stream().map(Enum::name).collect(Collectors.joining(", "));
    }
}
