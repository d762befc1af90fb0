package dev.metagen.engine.synth;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.model.Architecture;

import java.util.List;
import java.util.Locale;

/**
 * The shape of a synthesized model, with named presets mirroring published Hugging Face configs
 * (meta-llama/Llama-3.2-1B, Qwen/Qwen2.5-0.5B, Qwen/Qwen3-0.6B, google/gemma-3-270m, google/gemma-3-1b-pt,
 * microsoft/Phi-4-mini-instruct) and tiny test shapes.
 *
 * @param llama3Rope      llama3 rope scaling (factor 32, low 1, high 4, original context {@code llama3OrigContext}),
 *                        written as llama.cpp's {@code rope_freqs.weight} tensor; llama architecture only
 * @param rotaryFraction  phi3's partial_rotary_factor: rope rotates {@code (int) (fraction * embd) / heads} dims of
 *                        each head, as llama.cpp's converter computes it (1 = whole heads)
 * @param slidingWindow   gemma3's attention.sliding_window (0 = none); five of every six layers slide
 * @param finalSoftcap    gemma3's final_logit_softcapping (0 = none)
 * @param longRopeContext phi3 LongRoPE: the original context (rope.scaling.original_context_length), with
 *                        {@code rope_factors_long} / {@code rope_factors_short} tensors and the converter's
 *                        attention factor; 0 = none
 */
public record SynthSpec(Architecture arch, int embd, int layers, int heads, int kvHeads, int headDim, int ffn,
                        int vocab, int context, float ropeTheta, float rmsEps, boolean tied, boolean llama3Rope,
                        int llama3OrigContext, float rotaryFraction, int slidingWindow, float finalSoftcap,
                        int longRopeContext) {

    public static final List<String> PRESETS =
            List.of("llama-3.2-1b", "qwen2.5-0.5b", "qwen3-0.6b", "gemma-3-270m", "gemma-3-1b", "phi-4-mini",
                    "tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-gemma3", "tiny-phi3");

    /** A Llama-layout shape (whole-head rope, no sliding window, no softcapping, no LongRoPE). */
    public SynthSpec(Architecture arch, int embd, int layers, int heads, int kvHeads, int headDim, int ffn,
                     int vocab, int context, float ropeTheta, float rmsEps, boolean tied, boolean llama3Rope,
                     int llama3OrigContext) {
        this(arch, embd, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeTheta, rmsEps, tied, llama3Rope,
                llama3OrigContext, 1f, 0, 0f, 0);
    }

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
            // google/gemma-3-270m and google/gemma-3-1b-pt: head_dim 256 above n_embd / n_head, sliding window 512
            case "gemma-3-270m" -> new SynthSpec(Architecture.GEMMA3, 640, 18, 4, 1, 256, 2048, 262144, 32768,
                    1000000f, 1e-6f, true, false, 0, 1f, 512, 0f, 0);
            case "gemma-3-1b" -> new SynthSpec(Architecture.GEMMA3, 1152, 26, 4, 1, 256, 6912, 262144, 32768,
                    1000000f, 1e-6f, true, false, 0, 1f, 512, 0f, 0);
            // microsoft/Phi-4-mini-instruct: partial rotary 0.75 (96 of 128 dims), LongRoPE from 4096 to 131072
            case "phi-4-mini" -> new SynthSpec(Architecture.PHI3, 3072, 32, 24, 8, 128, 8192, 200064, 131072,
                    10000f, 1e-5f, true, false, 0, 0.75f, 0, 0f, 4096);
            // six layers so that both kinds occur (five sliding, one global); a window of 12 that ends inside the
            // 16-position KV blocks and is far shorter than the tests' sequences
            case "tiny-gemma3" -> new SynthSpec(Architecture.GEMMA3, 64, 6, 4, 2, 32, 128, 512, 512,
                    1000000f, 1e-6f, true, false, 0, 1f, 12, 0f, 0);
            // rope on 12 of 16 dims; LongRoPE from an original context of 256 (long factors beyond it)
            case "tiny-phi3" -> new SynthSpec(Architecture.PHI3, 64, 2, 4, 2, 16, 128, 512, 1024,
                    10000f, 1e-5f, false, false, 0, 0.75f, 0, 0f, 256);
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
        check(rotaryFraction > 0 && rotaryFraction <= 1, "rotary fraction must be in (0, 1], got " + rotaryFraction);
        check(rotaryFraction == 1 || arch == Architecture.PHI3, "partial rotary needs the phi3 architecture");
        int ropeDim = rotaryFraction == 1f ? headDim : (int) (rotaryFraction * embd) / heads;
        check(ropeDim >= 2 && ropeDim % 2 == 0 && ropeDim <= headDim, "rope dims " + ropeDim
                + " (rotary fraction x embd / heads) must be even and in [2, head dim " + headDim + "]");
        check(slidingWindow >= 0 && (slidingWindow == 0 || arch == Architecture.GEMMA3),
                "a sliding window needs the gemma3 architecture");
        check(finalSoftcap >= 0 && (finalSoftcap == 0 || arch == Architecture.GEMMA3),
                "final logit softcapping needs the gemma3 architecture");
        check(longRopeContext >= 0 && (longRopeContext == 0 || arch == Architecture.PHI3),
                "LongRoPE factors need the phi3 architecture");
        check(arch != Architecture.PHI3 || heads * headDim == embd, "phi3 needs heads x head dim = embd ("
                + heads + " x " + headDim + " != " + embd + ")");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new MetagenException("synth: " + message);
        }
    }

    /** Dims of each head that rope rotates. */
    public int ropeDim() {
        return rotaryFraction == 1f ? headDim : (int) (rotaryFraction * embd) / heads;
    }

    /**
     * LongRoPE factors, made up in the shape of Phi's (no published values are copied): short ones close to 1,
     * long ones growing from 1 to about 40 over the frequency pairs, so that the choice between them matters.
     */
    float[] longRopeFactors(boolean longContext) {
        float[] f = new float[ropeDim() / 2];
        for (int i = 0; i < f.length; i++) {
            double t = f.length == 1 ? 1 : (double) i / (f.length - 1);
            f[i] = (float) (longContext ? Math.pow(40, t) : 1 + 0.1 * t);
        }
        return f;
    }

    /** The attention factor llama.cpp's converter writes for LongRoPE: sqrt(1 + ln(scale) / ln(original context)). */
    float longRopeAttnFactor() {
        double scale = (double) context / longRopeContext;
        return scale > 1 ? (float) Math.sqrt(1 + Math.log(scale) / Math.log(longRopeContext)) : 1f;
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
