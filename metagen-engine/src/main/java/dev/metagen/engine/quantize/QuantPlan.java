package dev.metagen.engine.quantize;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.tensor.GgmlType;

import java.util.List;
import java.util.Locale;

/**
 * Per-tensor type choice for a target file type, following llama.cpp's {@code llama_tensor_get_type} for the
 * Q4_K_M / Q5_K_M mixes and {@code llama-quantize --pure} for a single type; shared by the synthesizer and the
 * quantizer so both write the same layout.
 *
 * @param name   the target: a ggml type name or a mix (see {@link #NAMES})
 * @param layers the model's block count (for {@code use_more_bits})
 * @param tied   whether the token embedding doubles as the output matrix (then it gets the output's type)
 */
public record QuantPlan(String name, int layers, boolean tied) {

    /** The targets a plan accepts, in the order help texts list them. */
    public static final List<String> NAMES = List.of("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M");

    public QuantPlan {
        name = canonical(name);
    }

    /** The upper-case target name; a {@link MetagenException} listing the choices if {@code t} is none of them. */
    public static String canonical(String t) {
        String u = t == null ? "" : t.toUpperCase(Locale.ROOT);
        if (!NAMES.contains(u)) {
            throw new MetagenException("unsupported tensor type '" + t + "' (supported: " + String.join(", ", NAMES) + ")");
        }
        return u;
    }

    public boolean isMix() {
        return name.equals("Q4_K_M") || name.equals("Q5_K_M");
    }

    /**
     * The type of a tensor with ggml shape {@code shape} ({@code [cols, rows...]}): F32 for 1-D tensors (norms,
     * biases, rope factors); for mixes Q6_K on the output (or the tied embedding) and on {@code attn_v} /
     * {@code ffn_down} in the layers {@link #useMoreBits} picks. Rows a block does not divide fall back as
     * llama.cpp does (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, then F16).
     */
    public GgmlType typeFor(String tensor, long[] shape) {
        if (shape.length == 1) {
            return GgmlType.F32;
        }
        long cols = shape[0];
        GgmlType t;
        if (!isMix()) {
            t = GgmlType.valueOf(name);
        } else {
            t = name.equals("Q4_K_M") ? GgmlType.Q4_K : GgmlType.Q5_K;
            boolean isOutput = tensor.equals("output.weight") || (tied && tensor.equals("token_embd.weight"));
            if (isOutput) {
                t = GgmlType.Q6_K;
            } else if ((tensor.endsWith("attn_v.weight") || tensor.endsWith("ffn_down.weight"))
                    && useMoreBits(layerOf(tensor), layers)) {
                t = GgmlType.Q6_K;
            }
        }
        if (cols % t.blockSize != 0) {
            t = switch (t) {
                case Q4_K -> GgmlType.Q5_0;
                case Q5_K -> GgmlType.Q5_1;
                case Q6_K -> GgmlType.Q8_0;
                default -> t;
            };
            if (cols % t.blockSize != 0) {
                t = GgmlType.F16;
            }
        }
        return t;
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers and every third in between. */
    public static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** {@code general.file_type}: llama.cpp's {@code llama_ftype} value of the target. */
    public int fileType() {
        return switch (name) {
            case "F32" -> 0;
            case "F16" -> 1;
            case "Q4_0" -> 2;
            case "Q4_1" -> 3;
            case "Q8_0" -> 7;
            case "Q5_0" -> 8;
            case "Q5_1" -> 9;
            case "Q4_K" -> 14; // MOSTLY_Q4_K_S is the closest named ftype to all-Q4_K
            case "Q4_K_M" -> 15;
            case "Q5_K" -> 16; // MOSTLY_Q5_K_S likewise
            case "Q5_K_M" -> 17;
            case "Q6_K" -> 18;
            case "BF16" -> 32;
            default -> throw new IllegalStateException(name);
        };
    }

    /** The block index of {@code blk.N.*} tensors, -1 for others. */
    private static int layerOf(String tensor) {
        if (!tensor.startsWith("blk.")) {
            return -1;
        }
        int dot = tensor.indexOf('.', 4);
        try {
            return Integer.parseInt(tensor.substring(4, dot < 0 ? tensor.length() : dot));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
