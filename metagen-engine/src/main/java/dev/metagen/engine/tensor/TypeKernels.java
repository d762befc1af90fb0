package dev.metagen.engine.tensor;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The kernel registry: one {@link TypeKernel} per supported {@link GgmlType}. Where jdk.incubator.vector is present
 * and the preferred float species has 8 or 16 lanes, F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K and Q6_K get vectorized dot
 * products; otherwise (or with {@code -Dmetagen.vector=false}) every type uses its scalar blockwise kernel.
 */
public final class TypeKernels {
    private static final Map<GgmlType, TypeKernel> SCALAR = new EnumMap<>(GgmlType.class);
    private static final Map<GgmlType, TypeKernel> KERNELS = new EnumMap<>(GgmlType.class);
    private static final boolean VECTOR;

    static {
        for (TypeKernel k : new TypeKernel[] {new F32Kernel(), new F16Kernel(), new BF16Kernel(), new Q8_0Kernel(),
                new Q4_0Kernel(), new Q4_1Kernel(), new Q5_0Kernel(), new Q5_1Kernel(), new Q4_KKernel(),
                new Q5_KKernel(), new Q6_KKernel()}) {
            SCALAR.put(k.type(), k);
        }
        KERNELS.putAll(SCALAR);
        // Checked before any vector class is touched: without the module those classes would fail to link.
        VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                && !"false".equals(System.getProperty("metagen.vector"))
                && Simd.USABLE;
        if (VECTOR) {
            for (TypeKernel k : new TypeKernel[] {new F32VectorKernel(), new F16VectorKernel(), new BF16VectorKernel(),
                    new Q8_0VectorKernel(), new Q4_0VectorKernel(), new Q5_0VectorKernel(), new Q4_KVectorKernel(),
                    new Q5_KVectorKernel(), new Q6_KVectorKernel()}) {
                KERNELS.put(k.type(), k);
            }
        }
    }

    private TypeKernels() {}

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

    /** Whether {@link #of} hands out the jdk.incubator.vector dot products. */
    public static boolean vectorized() {
        return VECTOR;
    }

    /** The scalar reference kernel of {@code type} (for tests comparing it with the vector one). */
    static TypeKernel scalar(GgmlType type) {
        return SCALAR.get(type);
    }

    static String supportedNames() {
        return KERNELS.keySet().stream().map(Enum::name).collect(Collectors.joining(", "));
    }
}
