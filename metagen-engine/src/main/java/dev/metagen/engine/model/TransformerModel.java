package dev.metagen.engine.model;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;
import dev.metagen.engine.tokenizer.GgufTokenizers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A decoder-only Llama-family transformer (llama, qwen2, qwen3 as in llama.cpp's {@code llama-model.cpp}) run from
 * a memory-mapped GGUF: pre-RMSNorm blocks of grouped-query attention with rotary position embeddings (RoFormer)
 * and a SwiGLU feed-forward network, float32 activations, weights in any type {@link Matrix} supports.
 *
 * <p>A forward pass processes the new tokens of all states together, in chunks of up to {@value #MAX_BATCH}
 * positions, so each weight row is read once per chunk rather than once per token; the output rows of every matrix
 * product are split between the threads of a persistent {@link WorkerPool}.
 */
public final class TransformerModel implements LanguageModel {
    /** Positions processed per pass over the weights (bounds the activation buffers). */
    static final int MAX_BATCH = 32;
    /** From this many positions on, matrix products dequantize each weight row once (see {@link #matmul}). */
    static final int DEQUANT_ROWS = 4;

    private final GgufFile file;
    private final ModelConfig config;
    private final Weights weights;
    private final int contextLength;
    private final WorkerPool pool;
    private final ModelInfo info;
    /** Per rotated pair i: the angle per position, freqScale * theta^(-2i/ropeDim) / factor[i]. */
    private final double[] ropeFreqs;
    private volatile Tokenizer tokenizer;
    private boolean closed;

    private TransformerModel(GgufFile file, ModelOptions options) {
        this.file = file;
        GgufTensorInfo embd = file.tensorInfo("token_embd.weight");
        if (embd == null) {
            throw new MetagenException(file.path() + ": missing tensor token_embd.weight (expected shape [n_embd, n_vocab])");
        }
        if (embd.shape().length != 2) {
            throw new MetagenException(file.path() + ": tensor token_embd.weight has shape "
                    + Arrays.toString(embd.shape()) + ", expected [n_embd, n_vocab]");
        }
        this.config = ModelConfig.read(file, Math.toIntExact(embd.shape()[1]));
        if (options.contextLength() > config.contextLength()) {
            throw new MetagenException(file.path() + ": requested context length " + options.contextLength()
                    + " exceeds the model's context_length " + config.contextLength());
        }
        this.contextLength = options.contextLength() == 0
                ? Math.min(config.contextLength(), ModelOptions.DEFAULT_CONTEXT_CAP) : options.contextLength();
        this.weights = Weights.load(file, config);
        this.ropeFreqs = ropeFrequencies(config, weights.ropeFactors());
        this.info = new ModelInfo(config.name(), config.arch().ggufName(), config.vocab(), contextLength,
                config.embd(), config.layers(), parameterCount(file), dominantType(file));
        this.pool = new WorkerPool(options.effectiveThreads());
    }

    /** Loads {@code gguf} with default options (all processors, context min(model's, 4096)). */
    public static TransformerModel load(Path gguf) {
        return load(gguf, ModelOptions.DEFAULTS);
    }

    /** Maps {@code gguf} and checks its metadata and tensors; the tokenizer is built on first use. */
    public static TransformerModel load(Path gguf, ModelOptions options) {
        GgufFile f = GgufFile.open(gguf);
        try {
            return new TransformerModel(f, options);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** The context length states of this model may reach. */
    public int contextLength() {
        return contextLength;
    }

    public int threads() {
        return pool.threads();
    }

    public GgufFile file() {
        return file;
    }

    @Override
    public Tokenizer tokenizer() {
        Tokenizer t = tokenizer;
        if (t == null) {
            synchronized (this) {
                if (tokenizer == null) {
                    tokenizer = GgufTokenizers.fromGguf(file);
                }
                t = tokenizer;
            }
        }
        return t;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public ModelState newState() {
        checkOpen();
        return new KvState(this);
    }

    /**
     * The final-norm hidden state (width n_embd) at the last position {@code state} consumed; needs a forward since
     * the state was created or truncated.
     */
    @Override
    public float[] lastHiddenState(ModelState state) {
        KvState s = own(state, 0);
        if (s.lastHidden == null) {
            throw new MetagenException("no hidden state: the state has had no forward since it was created or truncated");
        }
        return s.lastHidden.clone();
    }

    @Override
    public synchronized List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        return forwardRows(states, tokens, null);
    }

    /**
     * Logits at every new position in one pass: the chunked forward computes the final hidden state of each row
     * anyway, so verifying k drafted tokens (speculative decoding) costs one pass instead of k.
     */
    @Override
    public synchronized List<Logits> forwardAll(ModelState state, int... tokens) {
        float[][] rowLogits = new float[tokens == null ? 0 : tokens.length][];
        forwardRows(List.of(state), java.util.Collections.singletonList(tokens), rowLogits);
        List<Logits> out = new ArrayList<>(rowLogits.length);
        for (float[] l : rowLogits) {
            out.add(new Logits(l));
        }
        return out;
    }

    /** The forward pass; with {@code rowLogits} non-null, every row's logits land there, not only the last ones. */
    private List<Logits> forwardRows(List<ModelState> states, List<int[]> tokens, float[][] rowLogits) {
        checkOpen();
        if (states.size() != tokens.size()) {
            throw new MetagenException("forward: " + states.size() + " states but " + tokens.size() + " token arrays");
        }
        int n = states.size();
        KvState[] st = new KvState[n];
        Set<KvState> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int total = 0;
        for (int i = 0; i < n; i++) {
            st[i] = own(states.get(i), i);
            if (!seen.add(st[i])) {
                throw new MetagenException("forward: state " + i + " appears twice in one batch");
            }
            int[] t = tokens.get(i);
            if (t == null || t.length == 0) {
                throw new MetagenException("forward: state " + i + " got no tokens");
            }
            for (int id : t) {
                if (id < 0 || id >= config.vocab()) {
                    throw new MetagenException("forward: token id " + id + " out of range [0, " + config.vocab() + ")");
                }
            }
            if ((long) st[i].length() + t.length > contextLength) {
                throw new MetagenException("context length " + contextLength + " exceeded: the sequence has "
                        + st[i].length() + " tokens and " + t.length + " more were given");
            }
            total += t.length;
        }
        for (int i = 0; i < n; i++) {
            st[i].ensureCapacity(st[i].length() + tokens.get(i).length);
        }
        // flatten into rows (state, position, token), state by state in order
        int[] rowState = new int[total];
        int[] rowPos = new int[total];
        int[] rowToken = new int[total];
        int r = 0;
        for (int i = 0; i < n; i++) {
            int[] t = tokens.get(i);
            for (int j = 0; j < t.length; j++, r++) {
                rowState[r] = i;
                rowPos[r] = st[i].length() + j;
                rowToken[r] = t[j];
            }
        }
        float[][] logits = new float[n][];
        for (int from = 0; from < total; from += MAX_BATCH) {
            int to = Math.min(total, from + MAX_BATCH);
            runChunk(st, rowState, rowPos, rowToken, from, to, logits, rowLogits);
        }
        List<Logits> out = new ArrayList<>(n);
        for (float[] l : logits) {
            out.add(new Logits(l));
        }
        return out;
    }

    /**
     * Rows {@code [from, to)} through all layers; K/V rows land in the caches; last rows of a state give logits, and
     * so does every row when {@code rowLogits} is non-null (indexed by row).
     */
    private void runChunk(KvState[] st, int[] rowState, int[] rowPos, int[] rowToken, int from, int to,
                          float[][] logits, float[][] rowLogits) {
        ModelConfig c = config;
        int rows = to - from;
        int d = c.embd();
        float[] x = new float[rows * d];
        float[] xb = new float[rows * Math.max(d, c.attnDim())];
        float[] q = new float[rows * c.qDim()];
        float[] k = new float[rows * c.kvDim()];
        float[] v = new float[rows * c.vDim()];
        float[] att = new float[rows * c.attnDim()];
        float[] gate = new float[rows * c.ffn()];
        float[] up = new float[rows * c.ffn()];
        int half = c.ropeDim() / 2;
        float[] cos = new float[rows * half];
        float[] sin = new float[rows * half];
        for (int r = 0; r < rows; r++) {
            weights.tokenEmbd().dequantizeRow(rowToken[from + r], x, r * d);
            for (int i = 0; i < half; i++) {
                double angle = rowPos[from + r] * ropeFreqs[i];
                cos[r * half + i] = (float) Math.cos(angle);
                sin[r * half + i] = (float) Math.sin(angle);
            }
        }
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer w = weights.layers()[l];
            // attention
            for (int r = 0; r < rows; r++) {
                rmsnorm(xb, r * d, x, r * d, w.attnNorm(), d);
            }
            matmul(w.wq(), xb, d, q, c.qDim(), rows);
            matmul(w.wk(), xb, d, k, c.kvDim(), rows);
            matmul(w.wv(), xb, d, v, c.vDim(), rows);
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
                    rope(q, r * c.qDim() + h * c.headDim(), cos, sin, r * half);
                }
                for (int h = 0; h < c.kvHeads(); h++) {
                    rope(k, r * c.kvDim() + h * c.headDim(), cos, sin, r * half);
                }
                KvState s = st[rowState[from + r]];
                int pos = rowPos[from + r];
                System.arraycopy(k, r * c.kvDim(), s.keys[l], pos * c.kvDim(), c.kvDim());
                System.arraycopy(v, r * c.vDim(), s.values[l], pos * c.vDim(), c.vDim());
            }
            int layer = l;
            pool.forRange(rows * c.heads(), 1, (a, b) -> {
                for (int i = a; i < b; i++) {
                    int rr = i / c.heads();
                    attend(st[rowState[from + rr]], layer, rowPos[from + rr], i % c.heads(), q, rr, att);
                }
            });
            matmul(w.wo(), att, c.attnDim(), xb, d, rows);
            add(x, xb, rows * d);
            // SwiGLU feed-forward
            for (int r = 0; r < rows; r++) {
                rmsnorm(xb, r * d, x, r * d, w.ffnNorm(), d);
            }
            matmul(w.gate(), xb, d, gate, c.ffn(), rows);
            matmul(w.up(), xb, d, up, c.ffn(), rows);
            for (int i = 0; i < rows * c.ffn(); i++) {
                float g = gate[i];
                gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
            }
            matmul(w.down(), gate, c.ffn(), xb, d, rows);
            add(x, xb, rows * d);
        }
        // consume the tokens, then produce logits for rows that end their state's new tokens
        List<Integer> lastRows = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int row = from + r;
            st[rowState[row]].append(rowToken[row]);
            if (rowLogits != null || row + 1 == rowState.length || rowState[row + 1] != rowState[row]) {
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
        float[] out = new float[m * c.vocab()];
        matmul(weights.output(), hidden, d, out, c.vocab(), m);
        for (int i = 0; i < m; i++) {
            KvState s = st[rowState[from + lastRows.get(i)]];
            s.lastHidden = Arrays.copyOfRange(hidden, i * d, (i + 1) * d);
            float[] l = Arrays.copyOfRange(out, i * c.vocab(), (i + 1) * c.vocab());
            logits[rowState[from + lastRows.get(i)]] = l;
            if (rowLogits != null) {
                rowLogits[from + lastRows.get(i)] = l;
            }
        }
    }

    /**
     * One query head over the cached positions {@code 0..pos} with an online softmax (Milakov & Gimelshein 2018):
     * a running maximum and denominator, so the scores need no buffer as long as the context.
     */
    private void attend(KvState s, int layer, int pos, int head, float[] q, int row, float[] att) {
        ModelConfig c = config;
        int hd = c.headDim();
        int vd = c.valueDim();
        int kvHead = head / (c.heads() / c.kvHeads());
        int qOff = row * c.qDim() + head * hd;
        float[] keys = s.keys[layer];
        float[] values = s.values[layer];
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] acc = new float[vd];
        float[] scratch = AttentionKernels.scratch();
        float[] p = new float[AttentionKernels.BLOCK];
        float max = Float.NEGATIVE_INFINITY;
        float sum = 0;
        // blocks of positions: scores, one rescale of what was accumulated if the maximum grew, vector exp
        for (int t0 = 0; t0 <= pos; t0 += AttentionKernels.BLOCK) {
            int count = Math.min(AttentionKernels.BLOCK, pos + 1 - t0);
            AttentionKernels.scores(q, qOff, keys, t0 * c.kvDim() + kvHead * hd, c.kvDim(), count, hd, scale, p, scratch);
            float blockMax = p[0];
            for (int j = 1; j < count; j++) {
                blockMax = Math.max(blockMax, p[j]);
            }
            float correction = 1f;
            if (blockMax > max) {
                correction = (float) Math.exp(max - blockMax);
                sum *= correction;
                max = blockMax;
            }
            AttentionKernels.expShifted(p, max);
            for (int j = 0; j < count; j++) {
                sum += p[j];
            }
            AttentionKernels.weightedSum(acc, 0, correction, p, count, values, t0 * c.vDim() + kvHead * vd, c.vDim(), vd);
        }
        int o = row * c.attnDim() + head * vd;
        for (int i = 0; i < vd; i++) {
            att[o + i] = acc[i] / sum;
        }
    }

    /** Rotates the first ropeDim dims of one head: adjacent pairs (llama) or pairs (i, i + ropeDim/2) (NEOX). */
    private void rope(float[] vec, int off, float[] cos, float[] sin, int csOff) {
        int half = config.ropeDim() / 2;
        boolean neox = config.arch().neoxRope;
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
     * {@code out[r*outStride + j] = w.row(j) . in[r*inStride ..]} for all rows j, split over the pool. For a single
     * position the type's own dot product runs on the stored row; from {@value #DEQUANT_ROWS} positions on (prefill,
     * batched decoding) {@link Matrix#matmul} dequantizes each weight row once and register-tiles it against all
     * positions. Both give each output independently of the row split, so results do not depend on thread count.
     */
    private void matmul(Matrix w, float[] in, int inStride, float[] out, int outStride, int rows) {
        if (rows < DEQUANT_ROWS) {
            pool.forRange(w.rows(), 16, (a, b) -> {
                for (int j = a; j < b; j++) {
                    for (int r = 0; r < rows; r++) {
                        out[r * outStride + j] = w.dot(j, in, r * inStride);
                    }
                }
            });
            return;
        }
        pool.forRange(w.rows(), 16, (a, b) -> w.matmul(in, inStride, out, outStride, rows, a, b));
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

    private static double[] ropeFrequencies(ModelConfig c, float[] factors) {
        double[] f = new double[c.ropeDim() / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = c.ropeFreqScale() * Math.pow(c.ropeTheta(), -2.0 * i / c.ropeDim());
            if (factors != null) {
                f[i] /= factors[i];
            }
        }
        return f;
    }

    private KvState own(ModelState state, int index) {
        if (!(state instanceof KvState s) || s.model != this) {
            throw new MetagenException("state " + index + " does not belong to this model");
        }
        s.checkOpen();
        return s;
    }

    private static long parameterCount(GgufFile f) {
        long n = 0;
        for (GgufTensorInfo t : f.tensors().values()) {
            n += t.elementCount();
        }
        return n;
    }

    /** The type holding the most weights (e.g. Q4_K in a Q4_K_M file). */
    private static String dominantType(GgufFile f) {
        Map<GgmlType, Long> count = new EnumMap<>(GgmlType.class);
        for (GgufTensorInfo t : f.tensors().values()) {
            if (t.type() != null) {
                count.merge(t.type(), t.elementCount(), Long::sum);
            }
        }
        return count.entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse("none");
    }

    private void checkOpen() {
        if (closed) {
            throw new MetagenException("the model is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            pool.close();
            file.close();
        }
    }
}
