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
import dev.metagen.engine.tokenizer.GgufTokenizers;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only transformer (llama, qwen2, qwen3, gemma3, phi3 as in llama.cpp's {@code src/models}) run from
 * a memory-mapped GGUF: pre-RMSNorm blocks of grouped-query attention with rotary position embeddings (RoFormer)
 * and a gated feed-forward network (SwiGLU, GeGLU for Gemma), float32 activations, weights in any type
 * {@link Matrix} supports; the {@link Architecture}s differ as {@link ModelConfig.Variant} describes.
 *
 * <p>A forward pass processes the new tokens of all states together, in chunks of up to {@value #MAX_BATCH}
 * positions, so each weight row is read once per chunk rather than once per token; the output rows of every matrix
 * product are split between the threads of a persistent {@link WorkerPool}.
 *
 * <p>This class loads the model and serves {@link LanguageModel}; the work is done by {@link BatchPlanner} (merged
 * requests, shared prompts, prefix-cache reuse, rows and chunks), {@link ForwardPass} (the layer math) and the
 * paged KV cache ({@link KvBlockPool}, sized by {@link KvBudget}).
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
    private final ModelInfo info;
    private final KvBlockPool kvPool;
    private final PrefixCache prefixCache;
    private final BatchPlanner planner;
    private final BatchingScheduler scheduler;
    private final ClassifierHead scoreHead;
    private final Map<String, Object> generationDefaults;
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
        this.generationDefaults = generationDefaults(file);
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
        this.info = new ModelInfo(config.name(), config.arch().ggufName(), config.vocab(), contextLength,
                config.embd(), config.layers(), parameterCount(file), dominantType(file));
        this.kvPool = new KvBlockPool(config.layers(), config.kvDim(), config.vDim(),
                KvBudget.blocks(options, contextLength, KvBlockPool.blockBytes(config.layers(), config.kvDim(), config.vDim())));
        this.prefixCache = new PrefixCache(kvPool);
        this.pool = new WorkerPool(options.effectiveThreads());
        this.planner = new BatchPlanner(this, config, contextLength, prefixCache, options.prefixCache(),
                new ForwardPass(config, weights, pool, kvPool, contextLength));
        this.scheduler = new BatchingScheduler(planner::forwardBatch, java.time.Duration.ofMillis(2));
        this.scoreHead = weights.head() == null ? null : new ClassifierHead(this, weights.head(), file, config);
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
        return planner.rowsComputed();
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

    /** The {@code general.sampling.*} metadata as generation fields (read when the model loads, so a bad value fails early). */
    @Override
    public Map<String, Object> generationDefaults() {
        return generationDefaults;
    }

    private static Map<String, Object> generationDefaults(GgufFile f) {
        try {
            return dev.metagen.core.GenerationFields.modelDefaults(key -> {
                dev.metagen.engine.gguf.GgufValue v = f.metadata().get(key);
                return v == null || v.type() == dev.metagen.engine.gguf.GgufValueType.ARRAY ? null : String.valueOf(v.toPlain());
            });
        } catch (MetagenException e) {
            throw new MetagenException(f.path() + ": " + e.getMessage());
        }
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
            s.hiddenSink = new java.util.ArrayList<>(tokens.length);
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

    KvState own(ModelState state, int index) {
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

    void checkOpen() {
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
