package dev.metagen.engine.model;

import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.tensor.Matrix;

import java.nio.file.Path;

/**
 * A plain double-precision forward pass of llama / qwen2 / qwen3 for tests, written from the model definitions
 * (Llama: RMSNorm, RoPE, GQA, SwiGLU; Qwen2: QKV bias, rotate-half rope; Qwen3: per-head q/k RMSNorm) with
 * straightforward loops and no KV cache: every call recomputes the whole sequence. It shares nothing with the
 * engine but the dequantized weights ({@link Matrix#toFloatArray}) and the GGUF reader.
 */
final class ReferenceTransformer {
    final String arch;
    final int d, layers, heads, kvHeads, headDim, ffn, vocab, ropeDim;
    final double theta, eps, freqScale;
    final double[] ropeFactors;
    final double[][] embd, output;
    final double[] outNorm;
    final double[][] attnNorm, ffnNorm, bq, bk, bv, qNorm, kNorm;
    final double[][][] wq, wk, wv, wo, gate, up, down;

    ReferenceTransformer(Path path) {
        try (GgufFile f = GgufFile.open(path)) {
            arch = f.getString("general.architecture", null);
            d = f.requireInt(arch + ".embedding_length");
            layers = f.requireInt(arch + ".block_count");
            heads = f.requireInt(arch + ".attention.head_count");
            kvHeads = f.getInt(arch + ".attention.head_count_kv", heads);
            headDim = f.getInt(arch + ".attention.key_length", d / heads);
            ffn = f.requireInt(arch + ".feed_forward_length");
            ropeDim = f.getInt(arch + ".rope.dimension_count", headDim);
            theta = f.getFloat(arch + ".rope.freq_base", 10000f);
            eps = f.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
            // linear rope scaling ("position interpolation"): positions divided by the factor
            freqScale = f.getString(arch + ".rope.scaling.type", "none").equals("linear")
                    ? 1.0 / f.getFloat(arch + ".rope.scaling.factor", 1f) : 1.0;
            embd = matrix(f, "token_embd.weight");
            vocab = embd.length;
            output = f.tensorInfo("output.weight") != null ? matrix(f, "output.weight") : embd;
            outNorm = vector(f, "output_norm.weight");
            ropeFactors = f.tensorInfo("rope_freqs.weight") != null ? vector(f, "rope_freqs.weight") : null;
            attnNorm = new double[layers][];
            ffnNorm = new double[layers][];
            bq = new double[layers][];
            bk = new double[layers][];
            bv = new double[layers][];
            qNorm = new double[layers][];
            kNorm = new double[layers][];
            wq = new double[layers][][];
            wk = new double[layers][][];
            wv = new double[layers][][];
            wo = new double[layers][][];
            gate = new double[layers][][];
            up = new double[layers][][];
            down = new double[layers][][];
            for (int l = 0; l < layers; l++) {
                String b = "blk." + l + ".";
                attnNorm[l] = vector(f, b + "attn_norm.weight");
                ffnNorm[l] = vector(f, b + "ffn_norm.weight");
                wq[l] = matrix(f, b + "attn_q.weight");
                wk[l] = matrix(f, b + "attn_k.weight");
                wv[l] = matrix(f, b + "attn_v.weight");
                wo[l] = matrix(f, b + "attn_output.weight");
                gate[l] = matrix(f, b + "ffn_gate.weight");
                up[l] = matrix(f, b + "ffn_up.weight");
                down[l] = matrix(f, b + "ffn_down.weight");
                if (arch.equals("qwen2")) {
                    bq[l] = vector(f, b + "attn_q.bias");
                    bk[l] = vector(f, b + "attn_k.bias");
                    bv[l] = vector(f, b + "attn_v.bias");
                }
                if (arch.equals("qwen3")) {
                    qNorm[l] = vector(f, b + "attn_q_norm.weight");
                    kNorm[l] = vector(f, b + "attn_k_norm.weight");
                }
            }
        }
    }

    /** Logits at the last position of {@code tokens}, computed from scratch. */
    double[] logits(int[] tokens) {
        int n = tokens.length;
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = embd[tokens[t]].clone();
        }
        for (int l = 0; l < layers; l++) {
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] h = rmsnorm(x[t], attnNorm[l]);
                q[t] = add(matvec(wq[l], h), bq[l]);
                k[t] = add(matvec(wk[l], h), bk[l]);
                v[t] = add(matvec(wv[l], h), bv[l]);
                if (qNorm[l] != null) {
                    headNorm(q[t], heads, qNorm[l]);
                    headNorm(k[t], kvHeads, kNorm[l]);
                }
                rope(q[t], heads, t);
                rope(k[t], kvHeads, t);
            }
            for (int t = 0; t < n; t++) {
                double[] att = new double[heads * headDim];
                for (int h = 0; h < heads; h++) {
                    int g = h / (heads / kvHeads);
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) {
                            dot += q[t][h * headDim + i] * k[s][g * headDim + i];
                        }
                        scores[s] = dot / Math.sqrt(headDim);
                        max = Math.max(max, scores[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) {
                        scores[s] = Math.exp(scores[s] - max);
                        sum += scores[s];
                    }
                    for (int s = 0; s <= t; s++) {
                        for (int i = 0; i < headDim; i++) {
                            att[h * headDim + i] += scores[s] / sum * v[s][g * headDim + i];
                        }
                    }
                }
                x[t] = add(x[t], matvec(wo[l], att));
            }
            for (int t = 0; t < n; t++) {
                double[] h = rmsnorm(x[t], ffnNorm[l]);
                double[] g = matvec(gate[l], h);
                double[] u = matvec(up[l], h);
                for (int i = 0; i < ffn; i++) {
                    g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                }
                x[t] = add(x[t], matvec(down[l], g));
            }
        }
        return matvec(output, rmsnorm(x[n - 1], outNorm));
    }

    /** Rotary embedding: llama rotates (2i, 2i+1); qwen2/qwen3 (NEOX, HF rotate-half) rotate (i, i + dim/2). */
    private void rope(double[] vec, int nHeads, int pos) {
        boolean neox = !arch.equals("llama");
        int half = ropeDim / 2;
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.pow(theta, -2.0 * i / ropeDim);
                if (ropeFactors != null) {
                    freq /= ropeFactors[i];
                }
                double c = Math.cos(pos * freqScale * freq);
                double s = Math.sin(pos * freqScale * freq);
                int a = h * headDim + (neox ? i : 2 * i);
                int b = h * headDim + (neox ? i + half : 2 * i + 1);
                double x0 = vec[a];
                double x1 = vec[b];
                vec[a] = x0 * c - x1 * s;
                vec[b] = x0 * s + x1 * c;
            }
        }
    }

    private void headNorm(double[] vec, int nHeads, double[] w) {
        for (int h = 0; h < nHeads; h++) {
            double[] part = new double[headDim];
            System.arraycopy(vec, h * headDim, part, 0, headDim);
            System.arraycopy(rmsnorm(part, w), 0, vec, h * headDim, headDim);
        }
    }

    private double[] rmsnorm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * w[i];
        }
        return out;
    }

    private static double[] matvec(double[][] w, double[] x) {
        double[] out = new double[w.length];
        for (int r = 0; r < w.length; r++) {
            double s = 0;
            for (int i = 0; i < x.length; i++) {
                s += w[r][i] * x[i];
            }
            out[r] = s;
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        if (b == null) {
            return a;
        }
        double[] out = a.clone();
        for (int i = 0; i < a.length; i++) {
            out[i] += b[i];
        }
        return out;
    }

    private static double[][] matrix(GgufFile f, String name) {
        GgufTensorInfo info = f.tensorInfo(name);
        Matrix m = f.matrix(info);
        float[] flat = m.toFloatArray();
        double[][] out = new double[m.rows()][m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                out[r][c] = flat[r * m.cols() + c];
            }
        }
        return out;
    }

    private static double[] vector(GgufFile f, String name) {
        float[] flat = f.matrix(f.tensorInfo(name)).toFloatArray();
        double[] out = new double[flat.length];
        for (int i = 0; i < flat.length; i++) {
            out[i] = flat[i];
        }
        return out;
    }
}
