package dev.metagen.engine.synth;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.model.Architecture;

import java.util.List;
import java.util.Locale;

/**
 * The shape of a synthesized Llama-family model, with named presets mirroring published Hugging Face configs
 * (meta-llama/Llama-3.2-1B, Qwen/Qwen2.5-0.5B, Qwen/Qwen3-0.6B) and tiny test shapes.
 *
 * @param llama3Rope llama3 rope scaling (factor 32, low 1, high 4, original context {@code llama3OrigContext}),
 *                   written as llama.cpp's {@code rope_freqs.weight} tensor; llama architecture only
 */
public record SynthSpec(Architecture arch, int embd, int layers, int heads, int kvHeads, int headDim, int ffn,
                        int vocab, int context, float ropeTheta, float rmsEps, boolean tied, boolean llama3Rope,
                        int llama3OrigContext) {

    public static final List<String> PRESETS =
            List.of("llama-3.2-1b", "qwen2.5-0.5b", "qwen3-0.6b", "tiny-llama", "tiny-qwen2", "tiny-qwen3");

    public static SynthSpec preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "llama-3.2-1b" -> new SynthSpec(Architecture.LLAMA, 2048, 16, 32, 8, 64, 8192, 128256, 131072,
                    500000f, 1e-5f, true, true, 8192);
            case "qwen2.5-0.5b" -> new SynthSpec(Architecture.QWEN2, 896, 24, 14, 2, 64, 4864, 151936, 32768,
                    1000000f, 1e-6f, true, false, 0);
            case "qwen3-0.6b" -> new SynthSpec(Architecture.QWEN3, 1024, 28, 16, 8, 128, 3072, 151936, 40960,
                    1000000f, 1e-6f, true, false, 0);
            // untied output and llama3 rope factors with a short original context, so that all three regions of
            // the llama3 formula (kept, interpolated, scaled) occur among the 8 frequency pairs
            case "tiny-llama" -> new SynthSpec(Architecture.LLAMA, 64, 2, 4, 2, 16, 128, 512, 512,
                    10000f, 1e-5f, false, true, 256);
            case "tiny-qwen2" -> new SynthSpec(Architecture.QWEN2, 64, 2, 4, 2, 16, 128, 512, 512,
                    10000f, 1e-6f, true, false, 0);
            // head_dim 32 differs from n_embd / n_head = 16, as in the real Qwen3 models
            case "tiny-qwen3" -> new SynthSpec(Architecture.QWEN3, 64, 2, 4, 2, 32, 128, 512, 512,
                    10000f, 1e-6f, true, false, 0);
            default -> throw new MetagenException("unknown synth preset '" + name + "' (known: "
                    + String.join(", ", PRESETS) + ")");
        };
    }

    public SynthSpec {
        check(embd > 0, "embedding length must be > 0");
        check(layers > 0, "layers must be > 0");
        check(heads > 0 && kvHeads > 0 && heads % kvHeads == 0, "heads (" + heads
                + ") must be a positive multiple of kv heads (" + kvHeads + ")");
        check(headDim > 0 && headDim % 2 == 0, "head dim must be even and > 0, got " + headDim);
        check(ffn > 0, "ffn length must be > 0");
        check(vocab > 0, "vocab size must be > 0");
        check(context > 0, "context length must be > 0");
        check(!llama3Rope || arch == Architecture.LLAMA, "llama3 rope scaling needs the llama architecture");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new MetagenException("synth: " + message);
        }
    }

    /** llama3 rope frequency factors (Meta's {@code apply_scaling}): 1 for short wavelengths, 32 for long ones. */
    float[] llama3RopeFactors() {
        double factor = 32, low = 1, high = 4;
        double lowWavelen = llama3OrigContext / low;
        double highWavelen = llama3OrigContext / high;
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            double freq = Math.pow(ropeTheta, -2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) {
                f[i] = 1f;
            } else if (wavelen > lowWavelen) {
                f[i] = (float) factor;
            } else {
                double smooth = (llama3OrigContext / wavelen - low) / (high - low);
                f[i] = (float) (1.0 / ((1 - smooth) / factor + smooth));
            }
        }
        return f;
    }
}
