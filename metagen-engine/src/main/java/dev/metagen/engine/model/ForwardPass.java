package dev.metagen.engine.model;

import dev.metagen.engine.tensor.Matrix;
import dev.metagen.engine.tensor.PackedActivations;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The layer math of a {@link TransformerModel}: a chunk of rows (state, position, token) through every block, their
 * keys and values written to the states' KV blocks, and logits for the rows that need them. Matrix products are
 * split between the threads of the model's {@link WorkerPool}; passes are serialised by the caller.
 *
 * <p>One block as llama.cpp's graphs build it: x += attn(norm(x)), x += ffn(norm(x)), with the per-architecture
 * steps of {@link ModelConfig.Variant} (Gemma 3's embedding scale, post-norms, GeGLU, sliding-window layers and
 * their own rope; Phi-3's fused projections, partial rotary and LongRoPE factors; queries scaled before attention).
 */
final class ForwardPass {
    private final ModelConfig config;
    private final Weights weights;
    private final WorkerPool pool;
    private final KvBlockPool kvPool;
    /** Activations packed for the matrix-matrix products of the pass in progress (passes are serialised). */
    private final PackedActivations packed = new PackedActivations();
    /** Per rotated pair i: the angle per position, freqScale * theta^(-2i/ropeDim) / factor[i]. */
    private final double[] ropeFreqs;
    /** The same for sliding-window layers (base rope.freq_base_swa, never scaled), or {@code null} when none. */
    private final double[] ropeFreqsSwa;

    ForwardPass(ModelConfig config, Weights weights, WorkerPool pool, KvBlockPool kvPool, int contextLength) {
        this.config = config;
        this.weights = weights;
        this.pool = pool;
        this.kvPool = kvPool;
        this.ropeFreqs = ropeFrequencies(config.ropeTheta(), config.ropeFreqScale(), config.ropeDim(),
                ropeFactors(config, weights, contextLength));
        this.ropeFreqsSwa = config.variant().slidingLayers() == null ? null
                : ropeFrequencies(config.variant().ropeThetaSwa(), 1f, config.ropeDim(), null);
    }

    /**
     * The rope frequency divisors: llama3's, or LongRoPE's long factors when the sequence context exceeds the
     * original one and its short factors otherwise. llama.cpp compares its per-sequence context, which it pads to a
     * multiple of 256, so the context is padded the same way here (no difference when the original context is a
     * multiple of 256, as in the published models).
     */
    private static float[] ropeFactors(ModelConfig c, Weights w, int contextLength) {
        if (w.ropeFactorsLong() == null) {
            return w.ropeFactors();
        }
        long padded = (contextLength + 255L) / 256 * 256;
        return padded > c.variant().ropeOrigContext() ? w.ropeFactorsLong() : w.ropeFactorsShort();
    }

    /**
     * Rows {@code [from, to)} through all layers; K/V rows land in the states' blocks; the last row of a state
     * gives logits, and so does every row of a state with {@code allRows} (at {@code logits[state][rowIndex[row]]}).
     */
    void runChunk(KvState[] st, int[] rowState, int[] rowPos, int[] rowToken, int from, int to,
                          boolean[] allRows, float[][][] logits, int[] rowIndex) {
        ModelConfig c = config;
        int rows = to - from;
        int d = c.embd();
        float[] x = new float[rows * d];
        float[] xb = new float[rows * Math.max(d, c.attnDim())];
        ModelConfig.Variant var = c.variant();
        int qkvDim = c.qDim() + c.kvDim() + c.vDim();
        float[] q = new float[rows * c.qDim()];
        float[] k = new float[rows * c.kvDim()];
        float[] v = new float[rows * c.vDim()];
        float[] att = new float[rows * c.attnDim()];
        float[] gate = new float[rows * c.ffn()];
        float[] up = new float[rows * c.ffn()];
        boolean phi3 = c.arch() == Architecture.PHI3; // fused projections (attn_qkv optional, ffn_up always)
        float[] gateUp = phi3 ? new float[rows * 2 * c.ffn()] : null;
        float[] qkv = phi3 ? new float[rows * qkvDim] : null;
        int half = c.ropeDim() / 2;
        float[] cos = new float[rows * half];
        float[] sin = new float[rows * half];
        float[] cosSwa = ropeFreqsSwa == null ? null : new float[rows * half];
        float[] sinSwa = ropeFreqsSwa == null ? null : new float[rows * half];
        for (int r = 0; r < rows; r++) {
            weights.tokenEmbd().dequantizeRow(rowToken[from + r], x, r * d);
            if (var.embdScale() != 1f) {
                for (int i = r * d; i < (r + 1) * d; i++) {
                    x[i] *= var.embdScale();
                }
            }
            ropeTable(ropeFreqs, rowPos[from + r], cos, sin, r * half);
            if (ropeFreqsSwa != null) {
                ropeTable(ropeFreqsSwa, rowPos[from + r], cosSwa, sinSwa, r * half);
            }
        }
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer w = weights.layers()[l];
            boolean sliding = var.sliding(l);
            float[] lcos = sliding ? cosSwa : cos;
            float[] lsin = sliding ? sinSwa : sin;
            // attention
            for (int r = 0; r < rows; r++) {
                rmsnorm(xb, r * d, x, r * d, w.attnNorm(), d);
            }
            if (w.wqkv() != null) {
                // fused projection: each row holds the queries, then the keys, then the values
                matmul(w.wqkv(), xb, d, qkv, qkvDim, rows);
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(qkv, r * qkvDim, q, r * c.qDim(), c.qDim());
                    System.arraycopy(qkv, r * qkvDim + c.qDim(), k, r * c.kvDim(), c.kvDim());
                    System.arraycopy(qkv, r * qkvDim + c.qDim() + c.kvDim(), v, r * c.vDim(), c.vDim());
                }
            } else {
                PackedActivations xp = pack(xb, d, rows, w.wq(), w.wk(), w.wv()); // q, k and v share their input
                matmul(w.wq(), xb, d, xp, q, c.qDim(), rows);
                matmul(w.wk(), xb, d, xp, k, c.kvDim(), rows);
                matmul(w.wv(), xb, d, xp, v, c.vDim(), rows);
            }
            for (int r = 0; r < rows; r++) {
                if (w.bq() != null) {
                    addBias(q, r * c.qDim(), w.bq());
                    addBias(k, r * c.kvDim(), w.bk());
                    addBias(v, r * c.vDim(), w.bv());
                }
                if (w.qNorm() != null) {
                    for (int h = 0; h < c.heads(); h++) {
                        int o = r * c.qDim() + h * c.headDim();
                        rmsnorm(q, o, q, o, w.qNorm(), c.headDim());
                    }
                    for (int h = 0; h < c.kvHeads(); h++) {
                        int o = r * c.kvDim() + h * c.headDim();
                        rmsnorm(k, o, k, o, w.kNorm(), c.headDim());
                    }
                }
                for (int h = 0; h < c.heads(); h++) {
                    rope(q, r * c.qDim() + h * c.headDim(), lcos, lsin, r * half);
                }
                for (int h = 0; h < c.kvHeads(); h++) {
                    rope(k, r * c.kvDim() + h * c.headDim(), lcos, lsin, r * half);
                }
                if (var.scaleQuery()) {
                    for (int i = r * c.qDim(); i < (r + 1) * c.qDim(); i++) {
                        q[i] *= var.attnScale();
                    }
                }
                KvState s = st[rowState[from + r]];
                int pos = rowPos[from + r];
                KvBlock block = s.table[pos / KvBlockPool.BLOCK];
                int slot = pos % KvBlockPool.BLOCK;
                int base = l * kvPool.stride;
                System.arraycopy(k, r * c.kvDim(), block.data, base + slot * c.kvDim(), c.kvDim());
                System.arraycopy(v, r * c.vDim(), block.data,
                        base + KvBlockPool.BLOCK * c.kvDim() + slot * c.vDim(), c.vDim());
            }
            int layer = l;
            int window = sliding ? var.slidingWindow() : 0;
            pool.forRange(rows * c.kvHeads(), 1, (a, b) -> {
                for (int i = a; i < b; i++) {
                    int rr = i / c.kvHeads();
                    attend(st[rowState[from + rr]], layer, rowPos[from + rr], i % c.kvHeads(), q, rr, att, window);
                }
            });
            matmul(w.wo(), att, c.attnDim(), xb, d, rows);
            postNorm(xb, w.attnPostNorm(), rows);
            add(x, xb, rows * d);
            // gated feed-forward: SwiGLU, or GeGLU for Gemma
            for (int r = 0; r < rows; r++) {
                rmsnorm(xb, r * d, x, r * d, w.ffnNorm(), d);
            }
            if (w.gate() == null) {
                // phi3's ffn_up: the gate rows, then the up rows
                matmul(w.up(), xb, d, gateUp, 2 * c.ffn(), rows);
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(gateUp, r * 2 * c.ffn(), gate, r * c.ffn(), c.ffn());
                    System.arraycopy(gateUp, r * 2 * c.ffn() + c.ffn(), up, r * c.ffn(), c.ffn());
                }
            } else {
                PackedActivations xp = pack(xb, d, rows, w.gate(), w.up());
                matmul(w.gate(), xb, d, xp, gate, c.ffn(), rows);
                matmul(w.up(), xb, d, xp, up, c.ffn(), rows);
            }
            int ffn = rows * c.ffn();
            if (c.arch() == Architecture.GEMMA3) {
                pool.forRange(ffn, 1024, (a, b) -> AttentionKernels.geglu(gate, up, a, b));
            } else {
                pool.forRange(ffn, 1024, (a, b) -> AttentionKernels.swiglu(gate, up, a, b));
            }
            matmul(w.down(), gate, c.ffn(), xb, d, rows);
            postNorm(xb, w.ffnPostNorm(), rows);
            add(x, xb, rows * d);
        }
        // consume the tokens, then produce logits for rows that end their state's new tokens (every row with allRows);
        // a state with a hidden sink (a score head) also takes every row's final hidden state, without its logits
        List<Integer> lastRows = new ArrayList<>();
        List<Integer> logitRows = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int row = from + r;
            st[rowState[row]].append(rowToken[row]);
            boolean end = allRows[rowState[row]] || row + 1 == rowState.length || rowState[row + 1] != rowState[row];
            if (end || st[rowState[row]].hiddenSink != null) {
                if (end) {
                    logitRows.add(lastRows.size());
                }
                lastRows.add(r);
            }
        }
        if (lastRows.isEmpty()) {
            return;
        }
        int m = lastRows.size();
        float[] hidden = new float[m * d];
        for (int i = 0; i < m; i++) {
            rmsnorm(hidden, i * d, x, lastRows.get(i) * d, weights.outputNorm(), d);
        }
        int nl = logitRows.size();
        float[] logitHidden = hidden;
        if (nl < m) {
            logitHidden = new float[nl * d];
            for (int j = 0; j < nl; j++) {
                System.arraycopy(hidden, logitRows.get(j) * d, logitHidden, j * d, d);
            }
        }
        float[] out = new float[nl * c.vocab()];
        if (nl > 0) {
            matmul(weights.output(), logitHidden, d, out, c.vocab(), nl);
        }
        float cap = var.finalSoftcap();
        if (cap != 0f) {
            // as llama.cpp's graph: scale by 1/cap, tanh, scale by cap, each rounded to float
            float inv = 1f / cap;
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) Math.tanh(out[i] * inv) * cap;
            }
        }
        for (int i = 0, j = 0; i < m; i++) {
            int row = from + lastRows.get(i);
            KvState s = st[rowState[row]];
            s.lastHidden = Arrays.copyOfRange(hidden, i * d, (i + 1) * d);
            if (s.hiddenSink != null) {
                s.hiddenSink.add(s.lastHidden.clone());
            }
            if (j < nl && logitRows.get(j) == i) {
                logits[rowState[row]][rowIndex[row]] = Arrays.copyOfRange(out, j * c.vocab(), (j + 1) * c.vocab());
                j++;
            }
        }
    }

    /**
     * The query heads that share KV head {@code kvHead} (grouped-query attention) over the cached positions
     * {@code 0..pos}, block by block of the state's table, with an online softmax (Milakov & Gimelshein 2018): per head
     * a running maximum and denominator, so the scores need no buffer as long as the context. The heads of a group
     * take turns on each block of keys and values while it is in the L1 cache, so a KV head is read from memory once
     * per step rather than once per query head; each head's sums keep the same order as a head computed alone.
     */
    private void attend(KvState s, int layer, int pos, int kvHead, float[] q, int row, float[] att, int window) {
        ModelConfig c = config;
        int hd = c.headDim();
        int vd = c.valueDim();
        int group = c.heads() / c.kvHeads();
        int bs = KvBlockPool.BLOCK;
        int kBase = layer * kvPool.stride + kvHead * hd;
        int vBase = layer * kvPool.stride + bs * c.kvDim() + kvHead * vd;
        // queries already scaled (Gemma 3, Phi-3) meet a scale of 1, as in llama.cpp's graphs
        float scale = c.variant().scaleQuery() ? 1f : c.variant().attnScale();
        // a sliding-window layer sees positions pos - window + 1 .. pos (llama.cpp's LLAMA_SWA_TYPE_STANDARD mask);
        // earlier blocks are skipped, earlier positions of the first block scored as -inf (weight 0)
        int start = window > 0 ? Math.max(0, pos - window + 1) : 0;
        float[] acc = new float[group * vd];
        float[] scratch = AttentionKernels.scratch();
        float[] p = new float[AttentionKernels.BLOCK];
        float[] max = new float[group];
        float[] sum = new float[group];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        // blocks of positions, each inside one KV block (KvBlockPool.BLOCK is a multiple of AttentionKernels.BLOCK)
        for (int t0 = start / AttentionKernels.BLOCK * AttentionKernels.BLOCK; t0 <= pos; t0 += AttentionKernels.BLOCK) {
            int count = Math.min(AttentionKernels.BLOCK, pos + 1 - t0);
            float[] data = s.table[t0 / bs].data;
            int slot = t0 % bs;
            for (int g = 0; g < group; g++) {
                int qOff = row * c.qDim() + (kvHead * group + g) * hd;
                AttentionKernels.scores(q, qOff, data, kBase + slot * c.kvDim(), c.kvDim(), count, hd, scale, p, scratch);
                for (int j = 0; t0 + j < start; j++) {
                    p[j] = Float.NEGATIVE_INFINITY;
                }
                AttentionKernels.softmaxBlock(p, count, max, sum, g, acc, g * vd, data, vBase + slot * c.vDim(),
                        c.vDim(), vd);
            }
        }
        for (int g = 0; g < group; g++) {
            int o = row * c.attnDim() + (kvHead * group + g) * vd;
            for (int i = 0; i < vd; i++) {
                att[o + i] = acc[g * vd + i] / sum[g];
            }
        }
    }

    /** Rotates the first ropeDim dims of one head: adjacent pairs (llama) or pairs (i, i + ropeDim/2) (NEOX). */
    private void rope(float[] vec, int off, float[] cos, float[] sin, int csOff) {
        int half = config.ropeDim() / 2;
        boolean neox = config.neoxRope();
        for (int i = 0; i < half; i++) {
            int a = neox ? off + i : off + 2 * i;
            int b = neox ? off + i + half : off + 2 * i + 1;
            float c = cos[csOff + i];
            float s = sin[csOff + i];
            float x0 = vec[a];
            float x1 = vec[b];
            vec[a] = x0 * c - x1 * s;
            vec[b] = x0 * s + x1 * c;
        }
    }

    /**
     * {@code out[r*outStride + j] = w.row(j) . in[r*inStride ..]} for all rows j, split over the pool. For fewer than
     * {@value Matrix#DEQUANT_POSITIONS} positions, or as many as the type's multi-vector kernel takes
     * ({@link Matrix#multiPositions}: verifying drafted tokens, small batches), the type's own matrix-vector product
     * ({@link Matrix#matvecs}) runs on the stored rows, each output equal to a single-position decode step's; beyond
     * (prefill, batched decoding) {@link Matrix#matmul} dequantizes each weight row once and register-tiles it against
     * all positions. Both give each output independently of the row split, so results do not depend on thread count.
     */
    private void matmul(Matrix w, float[] in, int inStride, float[] out, int outStride, int rows) {
        matmul(w, in, inStride, pack(in, inStride, rows, w), out, outStride, rows);
    }

    /**
     * {@code in} packed for the matrix-matrix product of the matrices {@code users} (which share the input), or
     * null when they all take the matrix-vector path.
     */
    private PackedActivations pack(float[] in, int inStride, int rows, Matrix... users) {
        boolean gemm = false;
        for (Matrix w : users) {
            gemm |= !w.prefersMatvecs(rows);
        }
        if (!gemm) {
            return null;
        }
        packed.prepare(in, inStride, users[0].cols(), rows);
        pool.forRange(rows, 8, packed::fill);
        return packed;
    }

    /** As above with {@code in} already packed (by {@link #pack}), so that products sharing an input pack it once. */
    private void matmul(Matrix w, float[] in, int inStride, PackedActivations x, float[] out, int outStride, int rows) {
        if (w.prefersMatvecs(rows)) {
            pool.forRange(w.rows(), 16, (a, b) -> w.matvecs(in, 0, inStride, rows, out, 0, outStride, a, b));
            return;
        }
        // split in whole row tiles of the GEMM, so that no thread's range ends in a part-filled tile
        int tile = Matrix.GEMM_ROW_TILE;
        int n = w.rows();
        pool.forRange((n + tile - 1) / tile, 1,
                (a, b) -> w.matmul(x, out, outStride, a * tile, Math.min(n, b * tile)));
    }

    private void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + config.rmsEps()));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    private static void addBias(float[] v, int off, float[] bias) {
        for (int i = 0; i < bias.length; i++) {
            v[off + i] += bias[i];
        }
    }

    private static void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }

    /**
     * cos and sin of each rotated pair's angle at {@code pos}, times rope's magnitude (rope.scaling.attn_factor;
     * ggml multiplies the rounded cos and sin by it).
     */
    private void ropeTable(double[] freqs, int pos, float[] cos, float[] sin, int off) {
        float mscale = config.variant().ropeAttnFactor();
        for (int i = 0; i < freqs.length; i++) {
            double angle = pos * freqs[i];
            cos[off + i] = (float) Math.cos(angle) * mscale;
            sin[off + i] = (float) Math.sin(angle) * mscale;
        }
    }

    /** Gemma's RMS norm of a sublayer's output before it joins the residual (none when {@code weight} is null). */
    private void postNorm(float[] xb, float[] weight, int rows) {
        if (weight != null) {
            int d = config.embd();
            for (int r = 0; r < rows; r++) {
                rmsnorm(xb, r * d, xb, r * d, weight, d);
            }
        }
    }

    private static double[] ropeFrequencies(float theta, float freqScale, int ropeDim, float[] factors) {
        double[] f = new double[ropeDim / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = freqScale * Math.pow(theta, -2.0 * i / ropeDim);
            if (factors != null) {
                f[i] /= factors[i];
            }
        }
        return f;
    }
}
