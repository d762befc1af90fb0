package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.tensor.Matrix;

import java.util.Arrays;

/**
 * The tensors of a Llama-family GGUF (llama.cpp tensor names), checked against the {@link ModelConfig} shapes.
 * Large matrices stay memory-mapped in their stored type; small 1-D tensors (norms, biases) are dequantized.
 */
record Weights(Matrix tokenEmbd, float[] outputNorm, Matrix output, float[] ropeFactors, Layer[] layers) {

    /** One transformer block. Bias and q/k-norm arrays are {@code null} when the architecture has none. */
    record Layer(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, float[] bq, float[] bk, float[] bv,
                 float[] qNorm, float[] kNorm, float[] ffnNorm, Matrix gate, Matrix up, Matrix down) {}

    static Weights load(GgufFile f, ModelConfig c) {
        Loader l = new Loader(f);
        Matrix embd = l.matrix("token_embd.weight", c.embd(), c.vocab());
        float[] outNorm = l.vector("output_norm.weight", c.embd());
        // tied embeddings: llama.cpp falls back to token_embd when there is no output.weight
        Matrix output = f.tensorInfo("output.weight") != null ? l.matrix("output.weight", c.embd(), c.vocab()) : embd;
        float[] ropeFactors = f.tensorInfo("rope_freqs.weight") != null
                ? l.vector("rope_freqs.weight", c.ropeDim() / 2) : null;
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
            layers[i] = new Layer(
                    l.vector(b + "attn_norm.weight", c.embd()),
                    l.matrix(b + "attn_q.weight", c.embd(), c.qDim()),
                    l.matrix(b + "attn_k.weight", c.embd(), c.kvDim()),
                    l.matrix(b + "attn_v.weight", c.embd(), c.vDim()),
                    l.matrix(b + "attn_output.weight", c.attnDim(), c.embd()),
                    bias ? l.vector(b + "attn_q.bias", c.qDim()) : null,
                    bias ? l.vector(b + "attn_k.bias", c.kvDim()) : null,
                    bias ? l.vector(b + "attn_v.bias", c.vDim()) : null,
                    qkNorm ? l.vector(b + "attn_q_norm.weight", c.headDim()) : null,
                    qkNorm ? l.vector(b + "attn_k_norm.weight", c.headDim()) : null,
                    l.vector(b + "ffn_norm.weight", c.embd()),
                    l.matrix(b + "ffn_gate.weight", c.embd(), c.ffn()),
                    l.matrix(b + "ffn_up.weight", c.embd(), c.ffn()),
                    l.matrix(b + "ffn_down.weight", c.ffn(), c.embd()));
        }
        return new Weights(embd, outNorm, output, ropeFactors, layers);
    }

    /** Looks tensors up by name and checks their ggml shape ({@code [cols, rows]}). */
    private record Loader(GgufFile f) {
        GgufTensorInfo info(String name, long... shape) {
            GgufTensorInfo t = f.tensorInfo(name);
            if (t == null) {
                throw new MetagenException(f.path() + ": missing tensor " + name + " (expected shape "
                        + Arrays.toString(shape) + ")");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new MetagenException(f.path() + ": tensor " + name + " has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(shape));
            }
            if (t.type() == null) {
                throw new MetagenException(f.path() + ": tensor " + name + " has unknown ggml type id " + t.typeId());
            }
            if (t.elementCount() % t.type().blockSize != 0 || shape[0] % t.type().blockSize != 0) {
                throw new MetagenException(f.path() + ": tensor " + name + " row length " + shape[0]
                        + " is not a multiple of the " + t.type() + " block size " + t.type().blockSize);
            }
            return t;
        }

        Matrix matrix(String name, int cols, int rows) {
            return Matrix.of(f, info(name, cols, rows));
        }

        float[] vector(String name, int n) {
            return Matrix.of(f, info(name, n)).toFloatArray();
        }
    }
}
