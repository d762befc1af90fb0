package dev.metagen.engine.model;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.hf.HfModel;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;
import dev.metagen.engine.tensor.PackedActivations;
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
    /**
     * Positions processed per pass over the weights (bounds the activation buffers). Each pass dequantizes every
     * weight panel once, so more positions per pass spread that cost: the GEMM measured 111 / 133 / 142 GFLOP/s per
     * thread with 32 / 64 / 128 positions on a 2048 x 8192 Q8_0 matrix (GemmThroughput).
     */
    static final int MAX_BATCH = 128;

    private final GgufFile file;
    private final ModelConfig config;
    private final Weights weights;
    private final int contextLength;
    private final WorkerPool pool;
    /** Activations packed for the matrix-matrix products of the pass in progress (passes are serialised). */
    private final PackedActivations packed = new PackedActivations();
    private final ModelInfo info;
    /** Per rotated pair i: the angle per position, freqScale * theta^(-2i/ropeDim) / factor[i]. */
    private final double[] ropeFreqs;
    private final KvBlockPool kvPool;
    private final PrefixCache prefixCache;
    private final boolean prefixCacheEnabled;
    private final BatchingScheduler scheduler;
    private final ClassifierHead scoreHead;
    private final java.util.concurrent.atomic.AtomicLong rowsComputed = new java.util.concurrent.atomic.AtomicLong();
    private volatile Tokenizer tokenizer;
    private volatile boolean closed;

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
        // llama.cpp sizes token_embd and output by the token list; a model without one still runs from token ids
        int tokens = GgufTokenizers.validate(file);
        if (tokens >= 0 && tokens != config.vocab()) {
            throw file.invalid("tensor token_embd.weight has " + config.vocab() + " rows (n_vocab) but"
                    + " tokenizer.ggml.tokens has " + tokens + " tokens");
        }
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
        this.kvPool = new KvBlockPool(config.layers(), config.kvDim(), config.vDim(),
                kvBlocks(options, contextLength, KvBlockPool.blockBytes(config.layers(), config.kvDim(), config.vDim())));
        this.prefixCache = new PrefixCache(kvPool);
        this.prefixCacheEnabled = options.prefixCache();
        this.scheduler = new BatchingScheduler(this::forwardBatch, java.time.Duration.ofMillis(2));
        this.pool = new WorkerPool(options.effectiveThreads());
        this.scoreHead = weights.head() == null ? null : new ClassifierHead(this, weights.head(), file, config);
    }

    /** The KV budget in blocks: the caller's bytes, or the default of {@link ModelOptions#kvBudgetBytes}. */
    private static int kvBlocks(ModelOptions options, int context, long blockBytes) {
        long perSequence = (context + KvBlockPool.BLOCK - 1) / KvBlockPool.BLOCK;
        if (options.kvBudgetBytes() > 0) {
            if (options.kvBudgetBytes() < blockBytes) {
                throw new MetagenException("KV budget of " + options.kvBudgetBytes() + " bytes is less than one block ("
                        + blockBytes + " bytes = " + KvBlockPool.BLOCK + " positions of every layer's keys and values)");
            }
            return (int) Math.min(Integer.MAX_VALUE, options.kvBudgetBytes() / blockBytes);
        }
        long wanted = perSequence * ModelOptions.DEFAULT_KV_SEQUENCES;
        long heapCap = Runtime.getRuntime().maxMemory() / 2 / blockBytes;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(perSequence, Math.min(wanted, heapCap)));
    }

    /** Loads {@code gguf} with default options (all processors, context min(model's, 4096)). */
    public static TransformerModel load(Path gguf) {
        return load(gguf, ModelOptions.DEFAULTS);
    }

    /**
     * Maps {@code gguf} (a GGUF file, or a Hugging Face model directory read as one: {@link HfModel}) and checks its
     * metadata, vocabulary and tensors against each other (see {@link GgufTokenizers#validate}); the tokenizer is
     * built on first use.
     */
    public static TransformerModel load(Path gguf, ModelOptions options) {
        GgufFile f = HfModel.openModel(gguf);
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
        return new KvState(this, kvPool);
    }

    /** The paged KV cache's occupancy and the prefix cache's hits. */
    public KvCacheStats kvStats() {
        return prefixCache.stats();
    }

    /** Drops every prefix-cache block (states keep theirs): a cold start for benchmarks. */
    public void clearPrefixCache() {
        prefixCache.clear();
    }

    /**
     * Token positions run through the layers since loading: prompt tokens served by the prefix cache and shared
     * prompts of parallel samples are not counted again, so benchmarks can show a prompt computed once.
     */
    public long rowsComputed() {
        return rowsComputed.get();
    }

    /** Forward calls and the passes that served them (see {@link BatchingScheduler}). */
    public BatchingScheduler.Stats batchStats() {
        return scheduler.stats();
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

    /** The classification head of a reward model or reranker ({@code cls} / {@code cls.output} tensors), when present. */
    @Override
    public java.util.Optional<dev.metagen.core.ScoreHead> scoreHead() {
        return java.util.Optional.ofNullable(scoreHead);
    }

    /**
     * The final-norm hidden state after every token of {@code tokens}, run as a fresh sequence in one forward (its KV
     * memory reserved first, as every sequence of the model is); the LM head runs on the last position only.
     */
    float[][] hiddenStates(int[] tokens) {
        checkOpen();
        try (KvState s = (KvState) newState()) {
            try {
                s.reserve(tokens.length);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MetagenException("interrupted while waiting for KV memory");
            }
            s.hiddenSink = new ArrayList<>(tokens.length);
            forward(s, tokens); // every row's hidden state, logits of the last row only
            if (s.hiddenSink.size() != tokens.length) {
                throw new IllegalStateException("score head: " + s.hiddenSink.size() + " hidden states for " + tokens.length + " tokens");
            }
            return s.hiddenSink.toArray(new float[0][]);
        }
    }

    /**
     * Thread-safe: calls from several threads at once are merged into shared passes by the model's
     * {@link BatchingScheduler}, each caller getting its own logits.
     */
    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        checkOpen();
        if (states == null || tokens == null) {
            throw new MetagenException("forward: states and tokens must not be null");
        }
        return scheduler.submit(new BatchingScheduler.Request(states, tokens, false));
    }

    /**
     * Logits at every new position in one pass: the chunked forward computes the final hidden state of each row
     * anyway, so verifying k drafted tokens (speculative decoding) costs one pass instead of k.
     */
    @Override
    public List<Logits> forwardAll(ModelState state, int... tokens) {
        checkOpen();
        return scheduler.submit(new BatchingScheduler.Request(Collections.singletonList(state),
                Collections.singletonList(tokens), true));
    }

    /** One pass for a batch of requests (the scheduler's pass function): their states and tokens, concatenated. */
    private synchronized List<List<Logits>> forwardBatch(List<BatchingScheduler.Request> requests) {
        List<ModelState> states = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        List<Boolean> all = new ArrayList<>();
        for (BatchingScheduler.Request q : requests) {
            if (q.states().size() != q.tokens().size()) {
                throw new MetagenException("forward: " + q.states().size() + " states but " + q.tokens().size()
                        + " token arrays");
            }
            states.addAll(q.states());
            tokens.addAll(q.tokens());
            for (int i = 0; i < q.states().size(); i++) {
                all.add(q.allPositions());
            }
        }
        boolean[] allRows = new boolean[all.size()];
        for (int i = 0; i < allRows.length; i++) {
            allRows[i] = all.get(i);
        }
        float[][][] logits = forwardSharingPrompts(states, tokens, allRows);
        List<List<Logits>> out = new ArrayList<>(requests.size());
        int i = 0;
        for (BatchingScheduler.Request q : requests) {
            List<Logits> mine = new ArrayList<>();
            for (int j = 0; j < q.states().size(); j++, i++) {
                if (q.allPositions()) {
                    for (float[] l : logits[i]) {
                        mine.add(new Logits(l));
                    }
                } else {
                    mine.add(new Logits(logits[i][logits[i].length - 1]));
                }
            }
            out.add(mine);
        }
        return out;
    }

    /**
     * The forward, in two passes when new states of the batch start with the same full block of prompt (the samples
     * of best-of-N arriving together): the first of each such group runs with everything else, and its blocks,
     * now in the prefix cache, serve the others in a second, short pass, so a shared prompt is computed once.
     * If the second pass fails, the first is rolled back, keeping the whole call all-or-nothing.
     */
    private float[][][] forwardSharingPrompts(List<ModelState> states, List<int[]> tokens, boolean[] allRows) {
        int n = states.size();
        boolean[] follower = new boolean[n];
        boolean any = false;
        Set<ModelState> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        distinct.addAll(states);
        if (prefixCacheEnabled && n > 1 && distinct.size() == n) {
            java.util.Set<java.util.List<Integer>> firsts = new java.util.HashSet<>();
            for (int i = 0; i < n; i++) {
                int[] t = tokens.get(i);
                if (!(states.get(i) instanceof KvState s) || s.length() != 0 || allRows[i] || s.hiddenSink != null || t == null
                        || t.length <= KvBlockPool.BLOCK) {
                    continue;
                }
                List<Integer> key = Arrays.stream(t, 0, KvBlockPool.BLOCK).boxed().toList();
                if (!firsts.add(key)) {
                    follower[i] = true;
                    any = true;
                }
            }
        }
        if (!any) {
            return forwardRows(states, tokens, allRows);
        }
        List<ModelState> s1 = new ArrayList<>();
        List<int[]> t1 = new ArrayList<>();
        List<ModelState> s2 = new ArrayList<>();
        List<int[]> t2 = new ArrayList<>();
        List<Boolean> a1 = new ArrayList<>();
        List<Boolean> a2 = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (follower[i] ? s2 : s1).add(states.get(i));
            (follower[i] ? t2 : t1).add(tokens.get(i));
            (follower[i] ? a2 : a1).add(allRows[i]);
        }
        int[] before = new int[s1.size()];
        float[][] hidden = new float[s1.size()][];
        for (int i = 0; i < s1.size(); i++) {
            before[i] = s1.get(i).length();
            hidden[i] = ((KvState) s1.get(i)).lastHidden;
        }
        float[][][] r1 = forwardRows(s1, t1, toArray(a1));
        float[][][] r2;
        try {
            r2 = forwardRows(s2, t2, toArray(a2));
        } catch (RuntimeException e) {
            for (int i = 0; i < s1.size(); i++) {
                s1.get(i).truncate(before[i]);
                ((KvState) s1.get(i)).lastHidden = hidden[i];
            }
            throw e;
        }
        float[][][] out = new float[n][][];
        for (int i = 0, j = 0, k = 0; i < n; i++) {
            out[i] = follower[i] ? r2[k++] : r1[j++];
        }
        return out;
    }

    private static boolean[] toArray(List<Boolean> list) {
        boolean[] a = new boolean[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = list.get(i);
        }
        return a;
    }

    /**
     * The forward pass: per state, the logits of every new position when {@code allRows[i]}, else of its last one
     * (only the last entry of that state's array is filled). A new state whose first tokens start with full blocks
     * in the prefix cache adopts them and computes only the rest. Everything is checked and every KV block
     * obtained before anything is computed, so a failure leaves the states as they were.
     */
    private float[][][] forwardRows(List<ModelState> states, List<int[]> tokens, boolean[] allRows) {
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
                throw new MetagenException(allRows[i] ? "forwardAll: no tokens given"
                        : "forward: state " + i + " got no tokens");
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
        int[][] toks = new int[n][];
        int[] skipped = new int[n];
        List<KvState> adopted = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                int[] t = tokens.get(i);
                toks[i] = t;
                // a state that collects every row's hidden state (a score head) computes every row
                if (prefixCacheEnabled && !allRows[i] && st[i].hiddenSink == null && st[i].length() == 0 && t.length > KvBlockPool.BLOCK) {
                    List<KvBlock> hit = prefixCache.lookup(t, (t.length - 1) / KvBlockPool.BLOCK);
                    if (!hit.isEmpty()) {
                        st[i].adopt(hit, t);
                        adopted.add(st[i]);
                        skipped[i] = hit.size() * KvBlockPool.BLOCK;
                        toks[i] = Arrays.copyOfRange(t, skipped[i], t.length);
                        total -= skipped[i];
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                st[i].ensureCapacity(st[i].length() + toks[i].length);
            }
        } catch (RuntimeException e) {
            for (KvState s : adopted) {
                s.truncate(0);
            }
            throw e;
        }
        // flatten into rows (state, position, token), state by state in order
        int[] rowState = new int[total];
        int[] rowPos = new int[total];
        int[] rowToken = new int[total];
        int r = 0;
        for (int i = 0; i < n; i++) {
            int[] t = toks[i];
            for (int j = 0; j < t.length; j++, r++) {
                rowState[r] = i;
                rowPos[r] = st[i].length() + j;
                rowToken[r] = t[j];
            }
        }
        float[][][] logits = new float[n][][];
        int[] rowIndex = new int[total];
        for (int i = 0, row = 0; i < n; i++) {
            logits[i] = new float[allRows[i] ? toks[i].length : 1][];
            for (int j = 0; j < toks[i].length; j++, row++) {
                rowIndex[row] = allRows[i] ? j : 0;
            }
        }
        rowsComputed.addAndGet(total);
        for (int from = 0; from < total; from += MAX_BATCH) {
            int to = Math.min(total, from + MAX_BATCH);
            runChunk(st, rowState, rowPos, rowToken, from, to, allRows, logits, rowIndex);
        }
        if (prefixCacheEnabled) {
            for (KvState s : st) {
                int full = s.length() / KvBlockPool.BLOCK;
                if (full > s.cachedBlocks) {
                    prefixCache.insert(s.tokenArray(), s.table, full);
                    s.cachedBlocks = full;
                }
            }
        }
        return logits;
    }

    /**
     * Rows {@code [from, to)} through all layers; K/V rows land in the states' blocks; the last row of a state
     * gives logits, and so does every row of a state with {@code allRows} (at {@code logits[state][rowIndex[row]]}).
     */
    private void runChunk(KvState[] st, int[] rowState, int[] rowPos, int[] rowToken, int from, int to,
                          boolean[] allRows, float[][][] logits, int[] rowIndex) {
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
            PackedActivations xp = pack(xb, d, rows, w.wq(), w.wk(), w.wv()); // q, k and v share their input
            matmul(w.wq(), xb, d, xp, q, c.qDim(), rows);
            matmul(w.wk(), xb, d, xp, k, c.kvDim(), rows);
            matmul(w.wv(), xb, d, xp, v, c.vDim(), rows);
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
                KvBlock block = s.table[pos / KvBlockPool.BLOCK];
                int slot = pos % KvBlockPool.BLOCK;
                int base = l * kvPool.stride;
                System.arraycopy(k, r * c.kvDim(), block.data, base + slot * c.kvDim(), c.kvDim());
                System.arraycopy(v, r * c.vDim(), block.data,
                        base + KvBlockPool.BLOCK * c.kvDim() + slot * c.vDim(), c.vDim());
            }
            int layer = l;
            pool.forRange(rows * c.kvHeads(), 1, (a, b) -> {
                for (int i = a; i < b; i++) {
                    int rr = i / c.kvHeads();
                    attend(st[rowState[from + rr]], layer, rowPos[from + rr], i % c.kvHeads(), q, rr, att);
                }
            });
            matmul(w.wo(), att, c.attnDim(), xb, d, rows);
            add(x, xb, rows * d);
            // SwiGLU feed-forward
            for (int r = 0; r < rows; r++) {
                rmsnorm(xb, r * d, x, r * d, w.ffnNorm(), d);
            }
            xp = pack(xb, d, rows, w.gate(), w.up());
            matmul(w.gate(), xb, d, xp, gate, c.ffn(), rows);
            matmul(w.up(), xb, d, xp, up, c.ffn(), rows);
            int ffn = rows * c.ffn();
            pool.forRange(ffn, 1024, (a, b) -> AttentionKernels.swiglu(gate, up, a, b));
            matmul(w.down(), gate, c.ffn(), xb, d, rows);
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
    private void attend(KvState s, int layer, int pos, int kvHead, float[] q, int row, float[] att) {
        ModelConfig c = config;
        int hd = c.headDim();
        int vd = c.valueDim();
        int group = c.heads() / c.kvHeads();
        int bs = KvBlockPool.BLOCK;
        int kBase = layer * kvPool.stride + kvHead * hd;
        int vBase = layer * kvPool.stride + bs * c.kvDim() + kvHead * vd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] acc = new float[group * vd];
        float[] scratch = AttentionKernels.scratch();
        float[] p = new float[AttentionKernels.BLOCK];
        float[] max = new float[group];
        float[] sum = new float[group];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        // blocks of positions, each inside one KV block (KvBlockPool.BLOCK is a multiple of AttentionKernels.BLOCK)
        for (int t0 = 0; t0 <= pos; t0 += AttentionKernels.BLOCK) {
            int count = Math.min(AttentionKernels.BLOCK, pos + 1 - t0);
            float[] data = s.table[t0 / bs].data;
            int slot = t0 % bs;
            for (int g = 0; g < group; g++) {
                int qOff = row * c.qDim() + (kvHead * group + g) * hd;
                AttentionKernels.scores(q, qOff, data, kBase + slot * c.kvDim(), c.kvDim(), count, hd, scale, p, scratch);
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
            prefixCache.clear();
            pool.close();
            file.close();
        }
    }
}
