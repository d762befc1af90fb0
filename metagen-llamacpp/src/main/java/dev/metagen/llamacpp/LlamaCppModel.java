package dev.metagen.llamacpp;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import static dev.metagen.llamacpp.LlamaLibrary.BATCH;
import static dev.metagen.llamacpp.LlamaLibrary.CONTEXT_PARAMS;
import static dev.metagen.llamacpp.LlamaLibrary.MODEL_PARAMS;
import static dev.metagen.llamacpp.LlamaLibrary.offset;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A {@link LanguageModel} over llama.cpp (libllama through {@code java.lang.foreign}): one llama.cpp context whose
 * sequence ids are the {@link ModelState}s, on the CPU or, with a GPU build and {@link LlamaCppOptions#gpuLayers()},
 * partly or wholly on the GPU. Calls into the context are serialised by one lock.
 */
public final class LlamaCppModel implements LanguageModel {

    private final LlamaLibrary lib;
    private final Arena arena = Arena.ofShared();
    private final ReentrantLock lock = new ReentrantLock();
    private final MemorySegment model;
    private final MemorySegment ctx;
    private final MemorySegment memory;
    /** One llama_batch (allocated by llama_batch_init), refilled for every decode. */
    private final MemorySegment batch;
    private final MemorySegment batchToken;
    private final MemorySegment batchPos;
    private final MemorySegment batchNSeqId;
    private final MemorySegment batchSeqId;
    private final MemorySegment batchLogits;
    private final int batchCapacity;
    private final int contextLength;
    private final int vocabSize;
    private final int embeddingLength;
    /** Whether libllama currently outputs hidden states (llama_set_embeddings); off unless a state asked for them. */
    private boolean embeddingsOn;
    private final int sequences;
    private final BitSet usedSequences = new BitSet();
    /** The cache's cells as states hold them, and the reservations of generations (memory admission). */
    private final KvCells cells;
    private final LlamaCppTokenizer tokenizer;
    private final ModelInfo info;
    private final java.util.Map<String, Object> generationDefaults;
    /** The reranker / reward head (qwen3 with rank pooling, the one architecture here llama.cpp gives a head), or null. */
    private final RankHead scoreHead;
    private final int threads;
    private final Path path;
    private boolean closed;
    /** Counters of {@link #stats()}, changed under the lock. */
    private long decodes;
    private long tokensDecoded;
    private long decodeNanos;
    private long decodeCpuNanos;
    private long logitsRead;
    private long logitsNanos;

    /**
     * What this model's forwards did so far: {@code llama_decode} calls, the tokens they took, the time spent inside
     * them (wall clock, and CPU time of the calling thread, which with one thread is all of llama.cpp's work), and
     * the logits rows read (copied into Java arrays) and the time that took. A bench subtracts these from its own
     * time to say where per-token time goes outside llama.cpp; the CPU figures stay meaningful on a busy machine.
     */
    public record Stats(long decodes, long tokensDecoded, long decodeNanos, long decodeCpuNanos, long logitsRead,
                        long logitsNanos) {
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** The counters so far (see {@link Stats}). */
    public Stats stats() {
        lock.lock();
        try {
            return new Stats(decodes, tokensDecoded, decodeNanos, decodeCpuNanos, logitsRead, logitsNanos);
        } finally {
            lock.unlock();
        }
    }

    private LlamaCppModel(LlamaLibrary lib, Path gguf, LlamaCppOptions options) {
        this.lib = lib;
        this.path = gguf;
        try {
            MemorySegment modelParams = (MemorySegment) lib.modelDefaultParams.invokeExact((SegmentAllocator) arena);
            // a negative count means all layers in llama.h
            modelParams.set(JAVA_INT, offset(MODEL_PARAMS, "n_gpu_layers"), options.gpuLayers());
            LlamaLibrary.takeLastError();
            model = (MemorySegment) lib.modelLoadFromFile.invokeExact(
                    arena.allocateFrom(gguf.toAbsolutePath().toString()), modelParams);
            if (model.equals(MemorySegment.NULL)) {
                arena.close();
                throw new MetagenException("llama.cpp could not load " + gguf + reason());
            }
            int trainContext = (int) lib.modelNCtxTrain.invokeExact(model);
            int nCtx = options.contextLength() > 0 ? options.contextLength()
                    : Math.min(trainContext > 0 ? trainContext : LlamaCppOptions.DEFAULT_CONTEXT_CAP,
                    LlamaCppOptions.DEFAULT_CONTEXT_CAP);
            threads = options.threads() > 0 ? options.threads() : Runtime.getRuntime().availableProcessors();
            // libllama keeps room for at least one output per sequence and asserts (aborting the process) when that
            // exceeds n_outputs_max, which defaults to the batch size: sized for both here
            MemorySegment cp = contextParams(nCtx, options.batchSize(), options.sequences(),
                    Math.max(options.batchSize(), options.sequences()));
            // forwardAll asks for logits at every position of one sequence; the default allows one per sequence
            cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_outputs_max_per_seq"), 0);
            // one cache shared by all sequences: n_ctx cells in total, and a fork shares its prefix's cells
            cp.set(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "kv_unified"), true);
            ctx = (MemorySegment) lib.initFromModel.invokeExact(model, cp);
            if (ctx.equals(MemorySegment.NULL)) {
                String why = reason();
                lib.modelFree.invokeExact(model);
                arena.close();
                throw new MetagenException("llama.cpp could not create a context for " + gguf + why);
            }
            memory = (MemorySegment) lib.getMemory.invokeExact(ctx);
            contextLength = (int) lib.nCtx.invokeExact(ctx);
            cells = new KvCells(contextLength);
            batchCapacity = options.batchSize();
            sequences = options.sequences();
            batch = (MemorySegment) lib.batchInit.invokeExact((SegmentAllocator) arena, batchCapacity, 0, 1);
            batchToken = field(batch, "token", 4L * batchCapacity);
            batchPos = field(batch, "pos", 4L * batchCapacity);
            batchNSeqId = field(batch, "n_seq_id", 4L * batchCapacity);
            batchSeqId = field(batch, "seq_id", 8L * batchCapacity);
            batchLogits = field(batch, "logits", batchCapacity);

            MemorySegment vocab = (MemorySegment) lib.modelGetVocab.invokeExact(model);
            tokenizer = new LlamaCppTokenizer(lib, model, vocab);
            vocabSize = tokenizer.vocabSize();
            String name = tokenizer.meta("general.name");
            if (name == null) {
                String file = gguf.getFileName().toString();
                name = file.endsWith(".gguf") ? file.substring(0, file.length() - 5) : file;
            }
            String arch = tokenizer.meta("general.architecture");
            int embd = (int) lib.modelNEmbd.invokeExact(model);
            embeddingLength = embd;
            int layers = (int) lib.modelNLayer.invokeExact(model);
            long params = (long) lib.modelNParams.invokeExact(model);
            info = new ModelInfo(name, arch == null ? "unknown" : arch, vocabSize, contextLength, embd, layers, params,
                    tensorType());
            try {
                generationDefaults = dev.metagen.core.GenerationFields.modelDefaults(tokenizer::meta);
            } catch (MetagenException e) {
                throw new MetagenException(gguf + ": " + e.getMessage());
            }
            // llama.cpp attaches a classification head (cls.output) under rank pooling for qwen3 only among the
            // architectures it runs here; a qwen3 file declares it with pooling_type RANK, as its converter writes it
            String pooling = arch == null ? null : tokenizer.meta(arch + ".pooling_type");
            scoreHead = "qwen3".equals(arch) && pooling != null && pooling.strip().equals("4") ? new RankHead() : null;
        } catch (MetagenException e) {
            throw e;
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: loading " + gguf + " failed: " + t);
        }
    }

    /**
     * llama.cpp's default context parameters with this model's sizes and threads, and the settings every context of
     * this backend shares: an F32 KV cache (the default F16 cache rounds keys and values) and flash attention off (the
     * same attention path for every batch), so results equal the pure-Java engine's to float rounding.
     */
    private MemorySegment contextParams(int nCtx, int batch, int seqMax, int outputsMax) throws Throwable {
        MemorySegment cp = (MemorySegment) lib.contextDefaultParams.invokeExact((SegmentAllocator) arena);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_ctx"), nCtx);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_batch"), batch);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_ubatch"), batch);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_seq_max"), seqMax);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_outputs_max"), outputsMax);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_threads"), threads);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "n_threads_batch"), threads);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "type_k"), LlamaLibrary.GGML_TYPE_F32);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "type_v"), LlamaLibrary.GGML_TYPE_F32);
        cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "flash_attn_type"), LlamaLibrary.FLASH_ATTN_DISABLED);
        return cp;
    }

    /** Loads {@code gguf} with {@link LlamaCppOptions#DEFAULTS}. */
    public static LlamaCppModel load(Path gguf) {
        return load(gguf, LlamaCppOptions.DEFAULTS);
    }

    /**
     * Loads {@code gguf} into a new llama.cpp context.
     *
     * @throws MetagenException if the library is missing, the file does not exist or llama.cpp refuses it
     */
    public static LlamaCppModel load(Path gguf, LlamaCppOptions options) {
        if (!Files.isRegularFile(gguf)) {
            throw new MetagenException("model file not found: " + gguf);
        }
        return new LlamaCppModel(LlamaLibrary.get(), gguf, options);
    }

    /**
     * Loads libllama from {@code directory} for this process (the CLI's {@code --llama-lib}) instead of looking it up
     * (see {@link #load(Path, LlamaCppOptions)}); the directory may hold node-llama-cpp's CPU, CUDA or Vulkan build of
     * the supported release or a CMake build of its source.
     *
     * @throws MetagenException if the directory holds no libllama, one of another release, or another directory's
     *                          library is already loaded in this process
     */
    public static void useLibrary(Path directory) {
        LlamaLibrary.use(directory);
    }

    /** Whether the llama.cpp library can be found (see {@link LlamaLibrary#locate()}); it is not loaded. */
    public static boolean libraryAvailable() {
        try {
            return LlamaLibrary.locate().isPresent();
        } catch (MetagenException e) {
            return false;
        }
    }

    private static String reason() {
        String e = LlamaLibrary.takeLastError();
        return e.isEmpty() ? "" : ": " + e;
    }

    private static MemorySegment field(MemorySegment struct, String name, long bytes) {
        return struct.get(ADDRESS, offset(BATCH, name)).reinterpret(bytes);
    }

    /** The quantization part of llama_model_desc ("llama 7B Q8_0" gives "Q8_0"). */
    private String tensorType() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            int n = (int) lib.modelDesc.invokeExact(model, buf, 256L);
            if (n < 0) {
                return "unknown";
            }
            String[] parts = buf.getString(0).split(" ", 3);
            return parts.length == 3 ? parts[2] : buf.getString(0);
        }
    }

    /** The GGUF file this model was loaded from. */
    public Path path() {
        return path;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    /** The {@code general.sampling.*} metadata as llama.cpp reports it, as generation fields. */
    @Override
    public java.util.Map<String, Object> generationDefaults() {
        return generationDefaults;
    }

    /** The classification head llama.cpp runs under rank pooling (Qwen3 rerankers and reward models), when present. */
    @Override
    public java.util.Optional<dev.metagen.core.ScoreHead> scoreHead() {
        return java.util.Optional.ofNullable(scoreHead);
    }

    /** The number of KV cache cells shared by all states. */
    public int contextLength() {
        return contextLength;
    }

    @Override
    public ModelState newState() {
        lock.lock();
        try {
            checkOpen();
            return new LlamaState(allocateSequence(), null);
        } finally {
            lock.unlock();
        }
    }

    private int allocateSequence() {
        int id = usedSequences.nextClearBit(0);
        if (id >= sequences) {
            throw new MetagenException("llama.cpp: all " + sequences
                    + " sequences are in use (close states, or load with more sequences)");
        }
        usedSequences.set(id);
        return id;
    }

    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        List<List<Logits>> out = run(states, tokens, false);
        List<Logits> last = new ArrayList<>(out.size());
        for (List<Logits> l : out) {
            last.add(l.getFirst());
        }
        return last;
    }

    @Override
    public List<Logits> forwardAll(ModelState state, int... tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new MetagenException("forwardAll: no tokens given");
        }
        return run(List.of(state), List.of(tokens), true).getFirst();
    }

    /**
     * Feeds every state its tokens in as few decodes as the batch size allows (one when they fit) and returns, per
     * state, the logits at its last new position, or at every new position when {@code all}.
     */
    private List<List<Logits>> run(List<ModelState> states, List<int[]> tokens, boolean all) {
        if (states.size() != tokens.size()) {
            throw new MetagenException("forward: " + states.size() + " states but " + tokens.size() + " token arrays");
        }
        lock.lock();
        try {
            checkOpen();
            IdentityHashMap<LlamaState, Boolean> seen = new IdentityHashMap<>();
            List<LlamaState> own = new ArrayList<>(states.size());
            int total = 0;
            for (int i = 0; i < states.size(); i++) {
                if (!(states.get(i) instanceof LlamaState s) || s.model() != this) {
                    throw new MetagenException("forward: state " + i + " does not belong to this llama.cpp model");
                }
                if (s.closed) {
                    throw new MetagenException("forward: state " + i + " is closed");
                }
                if (seen.put(s, Boolean.TRUE) != null) {
                    throw new MetagenException("forward: state " + i + " appears twice in one batch");
                }
                int[] t = tokens.get(i);
                if (t == null || t.length == 0) {
                    throw new MetagenException("forward: no tokens given for state " + i);
                }
                for (int id : t) {
                    // llama.cpp rejects the whole batch on a bad id; name it here instead
                    if (id < 0 || id >= vocabSize) {
                        throw new MetagenException("forward: token id " + id + " is outside the vocabulary [0, "
                                + vocabSize + ")");
                    }
                }
                if (s.length + t.length > contextLength) {
                    throw new MetagenException("forward: " + (s.length + t.length)
                            + " tokens exceed the context length " + contextLength);
                }
                total += t.length;
                own.add(s);
            }
            List<List<Logits>> out = new ArrayList<>(own.size());
            for (int i = 0; i < own.size(); i++) {
                out.add(new ArrayList<>(all ? tokens.get(i).length : 1));
            }
            int[] startLength = new int[own.size()];
            KvCells.Reservation[] reservations = new KvCells.Reservation[own.size()];
            int[] counts = new int[own.size()];
            for (int i = 0; i < own.size(); i++) {
                startLength[i] = own.get(i).length;
                reservations[i] = own.get(i).reservation;
                counts[i] = tokens.get(i).length;
            }
            // all or nothing, before libllama is asked: a full cache is a clear error and leaves every state as it was
            int[][] newCells = cells.allocate(reservations, counts);
            float[][] hidden = new float[own.size()][];
            try {
                decodeAll(own, tokens, total, all, out, hidden);
            } catch (RuntimeException e) {
                // earlier chunks of a split forward are already in the cache: roll every state back
                for (int i = 0; i < own.size(); i++) {
                    cells.release(newCells[i], 0, newCells[i].length);
                    seqRm(own.get(i).seqId, startLength[i]);
                }
                throw e;
            }
            for (int i = 0; i < own.size(); i++) {
                own.get(i).append(tokens.get(i), newCells[i]);
                own.get(i).hidden = hidden[i];
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    private void decodeAll(List<LlamaState> own, List<int[]> tokens, int total, boolean all, List<List<Logits>> out,
                           float[][] hidden) {
        // hidden states come only from a decode that outputs embeddings (every row then), so that is switched on only
        // for batches holding a state whose hidden states were asked for (contrastive search's states and forks)
        boolean wantHidden = false;
        for (LlamaState s : own) {
            wantHidden |= s.wantsHidden;
        }
        setEmbeddings(wantHidden);
        int state = 0;
        int index = 0;
        int done = 0;
        while (done < total) {
            int n = Math.min(batchCapacity, total - done);
            int[] outputState = new int[n];
            int[] lastOf = new int[n];
            int outputs = 0;
            for (int b = 0; b < n; b++) {
                int[] t = tokens.get(state);
                LlamaState s = own.get(state);
                boolean last = index == t.length - 1;
                boolean wanted = all || last;
                batchToken.setAtIndex(JAVA_INT, b, t[index]);
                batchPos.setAtIndex(JAVA_INT, b, s.length + index);
                batchNSeqId.setAtIndex(JAVA_INT, b, 1);
                batchSeqId.getAtIndex(ADDRESS, b).reinterpret(4).set(JAVA_INT, 0, s.seqId);
                batchLogits.set(JAVA_BYTE, b, (byte) (wanted ? 1 : 0));
                if (wanted) {
                    outputState[b] = state;
                    outputs++;
                } else {
                    outputState[b] = -1;
                }
                lastOf[b] = last && s.wantsHidden ? state : -1;
                if (last) {
                    state++;
                    index = 0;
                } else {
                    index++;
                }
            }
            batch.set(JAVA_INT, offset(BATCH, "n_tokens"), n);
            LlamaLibrary.takeLastError();
            int rc;
            long c0 = THREADS.getCurrentThreadCpuTime();
            long d0 = System.nanoTime();
            try {
                rc = (int) lib.decode.invokeExact(ctx, batch);
            } catch (Throwable t) {
                throw new MetagenException("llama.cpp: llama_decode failed: " + t);
            }
            decodeNanos += System.nanoTime() - d0;
            decodeCpuNanos += THREADS.getCurrentThreadCpuTime() - c0;
            decodes++;
            tokensDecoded += n;
            if (rc != 0) {
                throw new MetagenException("llama.cpp: llama_decode returned " + rc + (rc == 1
                        ? " (no room in the KV cache of " + contextLength + " cells)" : "") + reason());
            }
            long l0 = System.nanoTime();
            for (int b = 0; b < n && outputs > 0; b++) {
                if (outputState[b] >= 0) {
                    out.get(outputState[b]).add(new Logits(logits(b)));
                    outputs--;
                    logitsRead++;
                }
            }
            if (wantHidden) {
                for (int b = 0; b < n; b++) {
                    if (lastOf[b] >= 0) {
                        hidden[lastOf[b]] = embeddings(b);
                    }
                }
            }
            logitsNanos += System.nanoTime() - l0;
            done += n;
        }
    }

    private float[] logits(int batchIndex) {
        MemorySegment p;
        try {
            p = (MemorySegment) lib.getLogitsIth.invokeExact(ctx, batchIndex);
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_get_logits_ith failed: " + t);
        }
        if (p.equals(MemorySegment.NULL)) {
            throw new MetagenException("llama.cpp: no logits at batch position " + batchIndex + reason());
        }
        return p.reinterpret(4L * vocabSize).toArray(JAVA_FLOAT);
    }

    private void setEmbeddings(boolean on) {
        if (on != embeddingsOn) {
            try {
                lib.setEmbeddings.invokeExact(ctx, on);
            } catch (Throwable t) {
                throw new MetagenException("llama.cpp: llama_set_embeddings failed: " + t);
            }
            embeddingsOn = on;
        }
    }

    private float[] embeddings(int batchIndex) {
        MemorySegment p;
        try {
            p = (MemorySegment) lib.getEmbeddingsIth.invokeExact(ctx, batchIndex);
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_get_embeddings_ith failed: " + t);
        }
        if (p.equals(MemorySegment.NULL)) {
            throw new MetagenException("llama.cpp gives no per-token hidden state for " + info.name()
                    + " (a pooled embedding or reranking model?)" + reason());
        }
        return p.reinterpret(4L * embeddingLength).toArray(JAVA_FLOAT);
    }

    /**
     * The final-norm hidden state at the state's last position (llama.cpp's per-token embedding, pooling none). The
     * first call for a state recomputes that position once on a fork (libllama keeps hidden states only from decodes
     * that asked for them); from then on every forward of the state and of its forks records it.
     */
    @Override
    public float[] lastHiddenState(ModelState state) {
        lock.lock();
        try {
            checkOpen();
            if (!(state instanceof LlamaState s) || s.model() != this) {
                throw new MetagenException("lastHiddenState: the state does not belong to this llama.cpp model");
            }
            s.checkState();
            if (s.hidden == null) {
                if (s.length == 0) {
                    throw new MetagenException("no hidden state: the state holds no tokens");
                }
                s.wantsHidden = true;
                int last = s.tokens[s.length - 1];
                try (ModelState f = s.fork()) {
                    f.truncate(s.length - 1);
                    run(List.of(f), List.of(new int[] {last}), false);
                    s.hidden = ((LlamaState) f).hidden;
                }
            }
            return s.hidden.clone();
        } finally {
            lock.unlock();
        }
    }

    /** Removes positions {@code [from, inf)} of sequence {@code seqId}. */
    private void seqRm(int seqId, int from) {
        boolean ok;
        try {
            ok = (boolean) lib.memorySeqRm.invokeExact(memory, seqId, from, -1);
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_memory_seq_rm failed: " + t);
        }
        if (!ok) {
            throw new MetagenException("llama.cpp cannot remove positions from " + from + " of sequence " + seqId
                    + " (the model's memory does not support partial removal)");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new MetagenException("the llama.cpp model is closed");
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                lib.batchFree.invokeExact(batch);
                if (scoreHead != null && scoreHead.ctx != null) {
                    lib.free.invokeExact(scoreHead.ctx);
                }
                lib.free.invokeExact(ctx);
                lib.modelFree.invokeExact(model);
            } catch (Throwable t) {
                throw new MetagenException("llama.cpp: freeing the model failed: " + t);
            } finally {
                arena.close();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Cells held by live states (tests and diagnostics). */
    public int liveCells() {
        return cells.live();
    }

    /** Cells promised to open reservations and not yet drawn. */
    public int promisedCells() {
        return cells.promised();
    }

    /** Reservations waiting for admission. */
    public int waitingReservations() {
        return cells.waiting();
    }

    /**
     * A llama.cpp sequence id, the tokens it holds and the cache cells it holds them in (a fork shares its parent's),
     * and the reservation its growth draws on: its own, or its parent's when it was forked while that was open.
     */
    /**
     * llama.cpp's rank pooling ({@code LLAMA_POOLING_TYPE_RANK}: {@code cls.output} on the last token's final-norm hidden
     * state, then a softmax for qwen3) in a second context of its own, created on first use: embeddings on, one
     * sequence, the main context's sizes, F32 KV cache. Each call clears it and runs its tokens as a fresh sequence,
     * under the model's lock.
     */
    private final class RankHead implements dev.metagen.core.ScoreHead {
        private final List<String> labels;
        private MemorySegment ctx;
        private MemorySegment mem;

        RankHead() {
            try {
                int n = (int) lib.modelNClsOut.invokeExact(model);
                List<String> l = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    MemorySegment p = (MemorySegment) lib.modelClsLabel.invokeExact(model, i);
                    l.add(p.equals(MemorySegment.NULL) ? "label_" + i : p.reinterpret(Long.MAX_VALUE).getString(0));
                }
                labels = List.copyOf(l);
            } catch (Throwable t) {
                throw new MetagenException("llama.cpp: reading the classifier labels failed: " + t);
            }
        }

        @Override
        public List<String> labels() {
            return labels;
        }

        @Override
        public boolean probabilities() {
            return true; // qwen3's rank output ends in a softmax
        }

        @Override
        public float[][] scorePositions(int[] tokens) {
            // rank pooling reads the last token of each decode: one token per decode gives every position's score
            lock.lock();
            try {
                begin(tokens);
                float[][] out = new float[tokens.length][];
                for (int i = 0; i < tokens.length; i++) {
                    out[i] = decode(tokens, i, i + 1);
                }
                return out;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public float[] score(int[] tokens) {
            lock.lock();
            try {
                begin(tokens);
                float[] last = null;
                for (int from = 0; from < tokens.length; from += batchCapacity) {
                    last = decode(tokens, from, Math.min(tokens.length, from + batchCapacity));
                }
                return last;
            } finally {
                lock.unlock();
            }
        }

        /** Checks the call and starts a fresh sequence in the scoring context (created on first use). */
        private void begin(int[] tokens) {
            checkOpen();
            if (tokens == null || tokens.length == 0) {
                throw new MetagenException("score head: no tokens given");
            }
            if (tokens.length > contextLength) {
                throw new MetagenException("score head: " + tokens.length + " tokens do not fit the context of "
                        + contextLength + " cells");
            }
            for (int t : tokens) {
                if (t < 0 || t >= vocabSize) {
                    throw new MetagenException("score head: token id " + t + " is outside the vocabulary of " + vocabSize);
                }
            }
            try {
                if (ctx == null) {
                    // one sequence; pooled output reads every row of a decode
                    MemorySegment cp = contextParams(contextLength, batchCapacity, 1, batchCapacity);
                    cp.set(JAVA_INT, offset(CONTEXT_PARAMS, "pooling_type"), LlamaLibrary.POOLING_RANK);
                    cp.set(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "embeddings"), true);
                    LlamaLibrary.takeLastError();
                    MemorySegment c = (MemorySegment) lib.initFromModel.invokeExact(model, cp);
                    if (c.equals(MemorySegment.NULL)) {
                        throw new MetagenException("llama.cpp could not create the scoring context for " + path + reason());
                    }
                    ctx = c;
                    mem = (MemorySegment) lib.getMemory.invokeExact(ctx);
                }
                lib.memoryClear.invokeExact(mem, true);
            } catch (MetagenException e) {
                throw e;
            } catch (Throwable t) {
                throw new MetagenException("llama.cpp: preparing the score head failed: " + t);
            }
        }

        /** Decodes {@code tokens[from, to)} at their positions in sequence 0; the rank output of its last token. */
        private float[] decode(int[] tokens, int from, int to) {
            int n = to - from;
            for (int b = 0; b < n; b++) {
                batchToken.setAtIndex(JAVA_INT, b, tokens[from + b]);
                batchPos.setAtIndex(JAVA_INT, b, from + b);
                batchNSeqId.setAtIndex(JAVA_INT, b, 1);
                batchSeqId.getAtIndex(ADDRESS, b).reinterpret(4).set(JAVA_INT, 0, 0);
                batchLogits.set(JAVA_BYTE, b, (byte) 1);
            }
            batch.set(JAVA_INT, offset(BATCH, "n_tokens"), n);
            LlamaLibrary.takeLastError();
            int rc;
            MemorySegment p;
            try {
                rc = (int) lib.decode.invokeExact(ctx, batch);
                p = rc == 0 ? (MemorySegment) lib.getEmbeddingsSeq.invokeExact(ctx, 0) : MemorySegment.NULL;
            } catch (Throwable t) {
                throw new MetagenException("llama.cpp: scoring decode failed: " + t);
            }
            if (rc != 0) {
                throw new MetagenException("llama.cpp: llama_decode returned " + rc + " in the score head" + reason());
            }
            if (p.equals(MemorySegment.NULL)) {
                throw new MetagenException("llama.cpp gave no rank output for " + info.name() + reason());
            }
            return p.reinterpret(4L * labels.size()).toArray(JAVA_FLOAT);
        }
    }

    private final class LlamaState implements ModelState {
        private final int seqId;
        private int[] tokens;
        private int[] cellIds;
        private int length;
        private boolean closed;
        private KvCells.Reservation reservation;
        private KvCells.Reservation own;
        /** Whether hidden states were asked for (by lastHiddenState on this state or the one it was forked from). */
        private boolean wantsHidden;
        /** The hidden state at the last position, when the forward that computed it recorded one. */
        private float[] hidden;

        /** A new state, empty or (with {@code parent}) sharing the parent's tokens and cells. */
        LlamaState(int seqId, LlamaState parent) {
            this.seqId = seqId;
            int n = parent == null ? 0 : parent.length;
            this.tokens = parent == null ? new int[16] : Arrays.copyOf(parent.tokens, Math.max(16, n));
            this.cellIds = parent == null ? new int[16] : Arrays.copyOf(parent.cellIds, Math.max(16, n));
            this.length = n;
            if (parent != null) {
                wantsHidden = parent.wantsHidden;
                hidden = parent.hidden;
                cells.retain(cellIds, n);
                if (parent.reservation != null && parent.reservation.open) {
                    reservation = parent.reservation;
                }
            }
        }

        LlamaCppModel model() {
            return LlamaCppModel.this;
        }

        void append(int[] t, int[] newCells) {
            if (length + t.length > tokens.length) {
                tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, length + t.length));
                cellIds = Arrays.copyOf(cellIds, tokens.length);
            }
            System.arraycopy(t, 0, tokens, length, t.length);
            System.arraycopy(newCells, 0, cellIds, length, t.length);
            length += t.length;
        }

        /**
         * Reserves the cells the growth can take: {@code tokens} more for this state (up to the context length) and
         * {@code forkTokens} more for each of {@code forks} forks made after that. Waits without holding the model's
         * lock, so holders keep decoding and closing.
         */
        @Override
        public MemoryReservation reserve(int tokens, int forks, int forkTokens) throws InterruptedException {
            return reserve(tokens, forks, forkTokens, true);
        }

        @Override
        public MemoryReservation tryReserve(int tokens) {
            try {
                return reserve(tokens, 0, 0, false);
            } catch (InterruptedException e) {
                throw new IllegalStateException("a reservation that does not wait was interrupted", e);
            }
        }

        private MemoryReservation reserve(int tokens, int forks, int forkTokens, boolean wait)
                throws InterruptedException {
            if (tokens < 0 || forks < 0 || forkTokens < 0) {
                throw new MetagenException("a KV reservation needs tokens, forks and fork tokens >= 0, got " + tokens
                        + ", " + forks + " and " + forkTokens);
            }
            long end;
            long need;
            String what;
            lock.lock();
            try {
                checkOpen();
                checkState();
                if (own != null && own.open) {
                    throw new MetagenException("this model state already holds a KV reservation: close it first");
                }
                end = Math.min((long) length + tokens, contextLength);
                need = end - length;
                if (forkTokens > 0) {
                    need += forks * (Math.min(end + forkTokens, contextLength) - end);
                }
                what = forks == 0 ? "a sequence of " + end + " tokens" : "a sequence of " + end + " tokens with "
                        + forks + " forks of " + forkTokens + " more tokens each";
            } finally {
                lock.unlock();
            }
            KvCells.Reservation r = cells.reserve((int) Math.min(Integer.MAX_VALUE, need), wait, what);
            if (r != null) {
                lock.lock();
                try {
                    own = r;
                    reservation = r;
                    if (closed) {
                        r.close(); // closed while this waited
                    }
                } finally {
                    lock.unlock();
                }
            }
            return r;
        }

        @Override
        public int length() {
            lock.lock();
            try {
                return length;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int[] tokens() {
            lock.lock();
            try {
                return Arrays.copyOf(tokens, length);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public ModelState fork() {
            lock.lock();
            try {
                checkOpen();
                checkState();
                int id = allocateSequence();
                try {
                    lib.memorySeqCp.invokeExact(memory, seqId, id, -1, -1);
                } catch (Throwable t) {
                    usedSequences.clear(id);
                    throw new MetagenException("llama.cpp: llama_memory_seq_cp failed: " + t);
                }
                return new LlamaState(id, this);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void truncate(int newLength) {
            lock.lock();
            try {
                checkOpen();
                checkState();
                if (newLength < 0 || newLength > length) {
                    throw new MetagenException("truncate: length " + newLength + " is outside [0, " + length + "]");
                }
                if (newLength < length) {
                    seqRm(seqId, newLength);
                    cells.release(cellIds, newLength, length);
                    length = newLength;
                    hidden = null;
                }
            } finally {
                lock.unlock();
            }
        }

        private void checkState() {
            if (closed) {
                throw new MetagenException("the model state is closed");
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (closed) {
                    return;
                }
                closed = true;
                if (!LlamaCppModel.this.closed) {
                    seqRm(seqId, 0);
                    usedSequences.clear(seqId);
                }
                cells.release(cellIds, 0, length);
                if (own != null) {
                    own.close();
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
