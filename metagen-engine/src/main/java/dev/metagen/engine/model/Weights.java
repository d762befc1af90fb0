package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;
import dev.metagen.engine.tensor.TypeKernels;
import dev.metagen.engine.tensor.UnsupportedTensorTypeException;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tensors of a GGUF of one of the {@link Architecture}s (llama.cpp tensor names), checked against the
 * {@link ModelConfig} shapes. Large matrices stay memory-mapped in their stored type; small 1-D tensors (norms,
 * biases, rope factors) are dequantized.
 *
 * @param ropeFactors      llama3 rope frequency divisors ({@code rope_freqs.weight}), or {@code null}
 * @param ropeFactorsLong  LongRoPE divisors for contexts beyond the original one (phi3 {@code rope_factors_long}),
 *                         or {@code null}
 * @param ropeFactorsShort LongRoPE divisors up to the original context (phi3 {@code rope_factors_short}), or
 *                         {@code null}
 */
record Weights(Matrix tokenEmbd, float[] outputNorm, Matrix output, float[] ropeFactors, Layer[] layers,
               float[] ropeFactorsLong, float[] ropeFactorsShort, Head head) {

    /**
     * A classification head (llama.cpp's {@code cls}: a dense layer with tanh, and {@code cls.output}: the projection
     * to the scores), each part optional; {@code null} as a whole when the file has neither.
     */
    record Head(Matrix dense, float[] denseBias, Matrix out, float[] outBias, int outputs) {}

    /**
     * One transformer block. Bias, q/k-norm and post-norm arrays are {@code null} when the architecture has none.
     * With a fused {@code wqkv} (rows: queries, keys, values) wq, wk and wv are {@code null}; with {@code gate}
     * {@code null}, {@code up} holds the gate rows followed by the up rows (phi3's fused {@code ffn_up}).
     */
    record Layer(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, float[] bq, float[] bk, float[] bv,
                 float[] qNorm, float[] kNorm, float[] ffnNorm, Matrix gate, Matrix up, Matrix down,
                 Matrix wqkv, float[] attnPostNorm, float[] ffnPostNorm) {}

    static Weights load(GgufFile f, ModelConfig c) {
        Loader l = new Loader(f);
        Matrix embd = l.matrix("token_embd.weight", "n_embd x n_vocab", c.embd(), c.vocab());
        float[] outNorm = l.vector("output_norm.weight", NORM, "n_embd", c.embd());
        // tied embeddings: llama.cpp falls back to token_embd when there is no output.weight
        Matrix output = f.tensorInfo("output.weight") != null
                ? l.matrix("output.weight", "n_embd x n_vocab", c.embd(), c.vocab()) : embd;
        boolean llamaLayout = c.arch() == Architecture.LLAMA || c.arch() == Architecture.QWEN2
                || c.arch() == Architecture.QWEN3;
        float[] ropeFactors = llamaLayout && f.tensorInfo("rope_freqs.weight") != null
                ? l.vector("rope_freqs.weight", "rope frequency factors", "rope.dimension_count / 2", c.ropeDim() / 2) : null;
        boolean phi3 = c.arch() == Architecture.PHI3;
        boolean gemma3 = c.arch() == Architecture.GEMMA3;
        float[] ropeLong = null;
        float[] ropeShort = null;
        if (phi3 && (f.tensorInfo("rope_factors_long.weight") != null || f.tensorInfo("rope_factors_short.weight") != null)) {
            ropeLong = l.vector("rope_factors_long.weight", "rope frequency factors", "rope.dimension_count / 2", c.ropeDim() / 2);
            ropeShort = l.vector("rope_factors_short.weight", "rope frequency factors", "rope.dimension_count / 2", c.ropeDim() / 2);
        }
        // every layer has several tensors: a larger block_count is corrupt and must not size an allocation
        if (c.layers() > f.tensors().size()) {
            throw new MetagenException(f.path() + ": block_count " + c.layers() + " is more than the file's "
                    + f.tensors().size() + " tensors can hold");
        }
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < layers.length; i++) {
            String b = "blk." + i + ".";
            boolean bias = c.arch().qkvBias;
            boolean qkNorm = c.arch().qkNorm;
            // phi3 files hold one fused attn_qkv; llama.cpp also takes separate attn_q/k/v there
            boolean fusedQkv = phi3 && f.tensorInfo(b + "attn_qkv.weight") != null;
            layers[i] = new Layer(
                    l.vector(b + "attn_norm.weight", NORM, "n_embd", c.embd()),
                    fusedQkv ? null : l.matrix(b + "attn_q.weight", "n_embd x n_head * head_dim", c.embd(), c.qDim()),
                    fusedQkv ? null : l.matrix(b + "attn_k.weight", "n_embd x n_head_kv * head_dim", c.embd(), c.kvDim()),
                    fusedQkv ? null : l.matrix(b + "attn_v.weight", "n_embd x n_head_kv * head_dim", c.embd(), c.vDim()),
                    l.matrix(b + "attn_output.weight", "n_head * head_dim x n_embd", c.attnDim(), c.embd()),
                    bias ? l.vector(b + "attn_q.bias", BIAS, "n_head * head_dim", c.qDim()) : null,
                    bias ? l.vector(b + "attn_k.bias", BIAS, "n_head_kv * head_dim", c.kvDim()) : null,
                    bias ? l.vector(b + "attn_v.bias", BIAS, "n_head_kv * head_dim", c.vDim()) : null,
                    qkNorm ? l.vector(b + "attn_q_norm.weight", NORM, "head_dim", c.headDim()) : null,
                    qkNorm ? l.vector(b + "attn_k_norm.weight", NORM, "head_dim", c.headDim()) : null,
                    l.vector(b + "ffn_norm.weight", NORM, "n_embd", c.embd()),
                    phi3 ? null : l.matrix(b + "ffn_gate.weight", "n_embd x n_ff", c.embd(), c.ffn()),
                    phi3 ? l.matrix(b + "ffn_up.weight", "n_embd x 2 * n_ff (gate, then up)", c.embd(), 2 * c.ffn())
                            : l.matrix(b + "ffn_up.weight", "n_embd x n_ff", c.embd(), c.ffn()),
                    l.matrix(b + "ffn_down.weight", "n_ff x n_embd", c.ffn(), c.embd()),
                    fusedQkv ? l.matrix(b + "attn_qkv.weight", "n_embd x (n_head + 2 * n_head_kv) * head_dim",
                            c.embd(), c.qDim() + c.kvDim() + c.vDim()) : null,
                    gemma3 ? l.vector(b + "post_attention_norm.weight", NORM, "n_embd", c.embd()) : null,
                    gemma3 ? l.vector(b + "post_ffw_norm.weight", NORM, "n_embd", c.embd()) : null);
        }
        Head head = head(f, l, c);
        l.checkAllUsed(c);
        return new Weights(embd, outNorm, output, ropeFactors, layers, ropeLong, ropeShort, head);
    }

    /** The classification head's tensors, sized as llama.cpp sizes them: n_cls_out = the number of output labels, else 1. */
    private static Head head(GgufFile f, Loader l, ModelConfig c) {
        boolean hasDense = f.tensorInfo("cls.weight") != null;
        boolean hasOut = f.tensorInfo("cls.output.weight") != null;
        if (!hasDense && !hasOut) {
            return null;
        }
        String[] labels = f.has(c.arch().ggufName() + ".classifier.output_labels")
                ? f.getStringArray(c.arch().ggufName() + ".classifier.output_labels") : null;
        int outputs = labels == null || labels.length == 0 ? 1 : labels.length;
        Matrix dense = hasDense ? l.matrix("cls.weight", "n_embd x n_embd", c.embd(), c.embd()) : null;
        float[] denseBias = hasDense && f.tensorInfo("cls.bias") != null ? l.vector("cls.bias", BIAS, "n_embd", c.embd()) : null;
        Matrix out = hasOut ? l.matrix("cls.output.weight", "n_embd x n_cls_out", c.embd(), outputs) : null;
        float[] outBias = hasOut && f.tensorInfo("cls.output.bias") != null
                ? l.vector("cls.output.bias", BIAS, "n_cls_out", outputs) : null;
        return new Head(dense, denseBias, out, outBias, hasOut ? outputs : c.embd());
    }

    private static final String NORM = "norm weights";
    private static final String BIAS = "biases";
    private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\..*");

    /** Looks tensors up by name, checks their ggml shape ({@code [cols, rows]}) and type, and remembers which were used. */
    private record Loader(GgufFile f, Set<String> used) {
        Loader(GgufFile f) {
            this(f, new HashSet<>());
        }

        GgufTensorInfo info(String name, String meaning, long... shape) {
            GgufTensorInfo t = f.tensorInfo(name);
            if (t == null) {
                throw new MetagenException(f.path() + ": missing tensor " + name + " (expected shape "
                        + Arrays.toString(shape) + ", " + meaning + ")");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new MetagenException(f.path() + ": tensor " + name + " has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(shape) + " (" + meaning + ")");
            }
            if (t.type() == null) {
                throw new MetagenException(f.path() + ": tensor " + name + " has unknown ggml type id " + t.typeId());
            }
            if (!TypeKernels.isSupported(t.type())) {
                throw f.invalid(new UnsupportedTensorTypeException(name, t.type().name()).getMessage());
            }
            if (t.elementCount() % t.type().blockSize != 0 || shape[0] % t.type().blockSize != 0) {
                throw new MetagenException(f.path() + ": tensor " + name + " row length " + shape[0]
                        + " is not a multiple of the " + t.type() + " block size " + t.type().blockSize);
            }
            used.add(name);
            return t;
        }

        Matrix matrix(String name, String meaning, int cols, int rows) {
            return f.matrix(info(name, meaning, cols, rows));
        }

        /**
         * A 1-D tensor as floats. llama.cpp multiplies or adds these to F32 activations with ggml_mul / ggml_add,
         * which take them only as F32 (any other type aborts on the CPU), and converters always write them so.
         */
        float[] vector(String name, String role, String meaning, int n) {
            GgufTensorInfo t = info(name, meaning, n);
            if (t.type() != GgmlType.F32) {
                throw f.invalid("tensor " + name + " has type " + t.type() + ", but " + role + " must be F32");
            }
            float[] v = f.matrix(t).toFloatArray();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i])) {
                    throw f.invalid("tensor " + name + " holds " + v[i] + " at index " + i);
                }
            }
            return v;
        }

        /** Every tensor of the file must have been used: one that is not would silently be left out of the model. */
        void checkAllUsed(ModelConfig c) {
            for (String name : f.tensors().keySet()) {
                if (used.contains(name)) {
                    continue;
                }
                Matcher m = LAYER_TENSOR.matcher(name);
                if (m.matches() && (m.group(1).length() > 9 || Long.parseLong(m.group(1)) >= c.layers())) {
                    throw f.invalid("tensor " + name + " belongs to layer " + m.group(1) + " but "
                            + c.arch().ggufName() + ".block_count is " + c.layers());
                }
                throw f.invalid("tensor " + name + " is not part of a " + c.arch().ggufName()
                        + " model as metagen runs it; running without it would give wrong results");
            }
        }
    }
}
