package dev.metagen.llamacpp;

import dev.metagen.core.MetagenException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcall handles and struct layouts for the part of libllama's C API (llama.h of the llama.cpp build that
 * node-llama-cpp 3.22.1 ships, its "v0.5.0" libraries) that {@link LlamaCppModel} uses.
 *
 * <p>The struct layouts are transcribed field by field from that llama.h for the x86-64 / AArch64 C ABI (enums
 * are {@code int}, {@code bool} one byte, pointers and {@code size_t} eight bytes); padding is written out where
 * the C compiler inserts it. A libllama of another release may have different structs, so the library's own
 * {@code llama_version()} is checked before anything else is called: anything but {@value #RELEASE} is refused.
 */
final class LlamaLibrary {

    /** The llama.cpp release this binding is transcribed from (its CMake LLAMA_VERSION, tag v0.5.0). */
    static final String RELEASE = "0.5.0";
    /** The node-llama-cpp version whose prebuilt libraries and bundled source are that release. */
    static final String NODE_LLAMA_CPP = "3.22.1";
    /** The library file of node-llama-cpp's CPU build of the supported release. */
    static final String LIBRARY_FILE = "libllama.v" + RELEASE + ".so";
    /**
     * Library files accepted in a directory, in order of preference: node-llama-cpp's CPU build, its GPU builds
     * ({@code libllama.cuda.v0.5.0.so}, {@code libllama.vulkan.v0.5.0.so}, ...), then a build of the bundled source
     * with CMake ({@code libllama.so}, {@code libllama.dylib} on macOS). Whichever is found, its version is checked.
     */
    private static final java.util.regex.Pattern LIBRARY_NAME = java.util.regex.Pattern.compile(
            "libllama(\\.[A-Za-z0-9_]+)?\\.v" + java.util.regex.Pattern.quote(RELEASE) + "\\.(so|dylib)");
    private static final java.util.List<String> PLAIN_NAMES = java.util.List.of("libllama.so", "libllama.dylib");
    /** System property and environment variable naming the directory that holds {@link #LIBRARY_FILE}. */
    static final String PROPERTY = "metagen.llamacpp.lib";
    static final String ENV = "METAGEN_LLAMA_LIB";
    /** Where {@code run-tests} installs node-llama-cpp's prebuilt CPU libraries, relative to the repository root. */
    static final String NODE_MODULES_DIR =
            "test-support/llamacpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";

    static final int GGML_TYPE_F32 = 0;
    static final int FLASH_ATTN_DISABLED = 0;
    /** {@code LLAMA_POOLING_TYPE_RANK}: the classification head on the pooled hidden state (rerankers). */
    static final int POOLING_RANK = 4;
    static final int GGML_LOG_LEVEL_ERROR = 4;

    /** struct llama_model_params. */
    static final StructLayout MODEL_PARAMS = MemoryLayout.structLayout(
            ADDRESS.withName("devices"),
            ADDRESS.withName("tensor_buft_overrides"),
            JAVA_INT.withName("n_gpu_layers"),
            JAVA_INT.withName("split_mode"),
            JAVA_INT.withName("load_mode"),
            JAVA_INT.withName("lazy_mode"),
            JAVA_INT.withName("main_gpu"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("tensor_split"),
            ADDRESS.withName("progress_callback"),
            ADDRESS.withName("progress_callback_user_data"),
            ADDRESS.withName("kv_overrides"),
            JAVA_BOOLEAN.withName("vocab_only"),
            JAVA_BOOLEAN.withName("check_tensors"),
            JAVA_BOOLEAN.withName("use_extra_bufts"),
            JAVA_BOOLEAN.withName("no_host"),
            JAVA_BOOLEAN.withName("no_alloc"),
            JAVA_BOOLEAN.withName("load_mtp"),
            MemoryLayout.paddingLayout(2)).withName("llama_model_params");

    /** struct llama_context_params. */
    static final StructLayout CONTEXT_PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("n_ctx"),
            JAVA_INT.withName("n_batch"),
            JAVA_INT.withName("n_ubatch"),
            JAVA_INT.withName("n_seq_max"),
            JAVA_INT.withName("n_rs_seq"),
            JAVA_INT.withName("n_outputs_max"),
            JAVA_INT.withName("n_outputs_max_per_seq"),
            JAVA_INT.withName("n_threads"),
            JAVA_INT.withName("n_threads_batch"),
            JAVA_INT.withName("ctx_type"),
            JAVA_INT.withName("rope_scaling_type"),
            JAVA_INT.withName("pooling_type"),
            JAVA_INT.withName("attention_type"),
            JAVA_INT.withName("flash_attn_type"),
            JAVA_FLOAT.withName("rope_freq_base"),
            JAVA_FLOAT.withName("rope_freq_scale"),
            JAVA_FLOAT.withName("yarn_ext_factor"),
            JAVA_FLOAT.withName("yarn_attn_factor"),
            JAVA_FLOAT.withName("yarn_beta_fast"),
            JAVA_FLOAT.withName("yarn_beta_slow"),
            JAVA_INT.withName("yarn_orig_ctx"),
            JAVA_FLOAT.withName("defrag_thold"),
            ADDRESS.withName("cb_eval"),
            ADDRESS.withName("cb_eval_user_data"),
            JAVA_INT.withName("type_k"),
            JAVA_INT.withName("type_v"),
            ADDRESS.withName("abort_callback"),
            ADDRESS.withName("abort_callback_data"),
            JAVA_BOOLEAN.withName("embeddings"),
            JAVA_BOOLEAN.withName("offload_kqv"),
            JAVA_BOOLEAN.withName("no_perf"),
            JAVA_BOOLEAN.withName("op_offload"),
            JAVA_BOOLEAN.withName("swa_full"),
            JAVA_BOOLEAN.withName("kv_unified"),
            MemoryLayout.paddingLayout(2),
            ADDRESS.withName("samplers"),
            JAVA_LONG.withName("n_samplers"),
            ADDRESS.withName("ctx_other")).withName("llama_context_params");

    /** struct llama_batch. */
    static final StructLayout BATCH = MemoryLayout.structLayout(
            JAVA_INT.withName("n_tokens"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("token"),
            ADDRESS.withName("embd"),
            ADDRESS.withName("pos"),
            ADDRESS.withName("n_seq_id"),
            ADDRESS.withName("seq_id"),
            ADDRESS.withName("logits")).withName("llama_batch");

    static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static volatile LlamaLibrary instance;

    final Path directory;
    final MethodHandle modelDefaultParams;
    final MethodHandle contextDefaultParams;
    final MethodHandle modelLoadFromFile;
    final MethodHandle modelFree;
    final MethodHandle initFromModel;
    final MethodHandle free;
    final MethodHandle modelGetVocab;
    final MethodHandle modelNCtxTrain;
    final MethodHandle modelNEmbd;
    final MethodHandle modelNLayer;
    final MethodHandle modelNParams;
    final MethodHandle modelMetaValStr;
    final MethodHandle modelDesc;
    final MethodHandle nCtx;
    final MethodHandle vocabNTokens;
    final MethodHandle vocabBos;
    final MethodHandle vocabEos;
    final MethodHandle vocabPad;
    final MethodHandle vocabIsEog;
    final MethodHandle vocabGetAddBos;
    final MethodHandle vocabGetAddEos;
    final MethodHandle vocabGetText;
    final MethodHandle tokenize;
    final MethodHandle tokenToPiece;
    final MethodHandle detokenize;
    final MethodHandle batchInit;
    final MethodHandle batchFree;
    final MethodHandle decode;
    final MethodHandle getLogitsIth;
    final MethodHandle setEmbeddings;
    final MethodHandle getEmbeddingsIth;
    final MethodHandle getEmbeddingsSeq;
    final MethodHandle memoryClear;
    final MethodHandle modelNClsOut;
    final MethodHandle modelClsLabel;
    final MethodHandle getMemory;
    final MethodHandle memorySeqCp;
    final MethodHandle memorySeqRm;
    final MethodHandle memorySeqPosMax;

    /** The last error libllama logged on this JVM (its messages arrive through the log callback). */
    private static volatile String lastError = "";

    private LlamaLibrary(Path directory) {
        this.directory = directory;
        Arena arena = Arena.global();
        Path file = libraryFile(directory).orElseThrow(() -> new MetagenException("llama.cpp: no libllama in "
                + directory + " (expected " + LIBRARY_FILE + ", libllama.<gpu>.v" + RELEASE + ".so or libllama.so)"));
        // libllama finds libggml*.so beside itself through its RUNPATH ($ORIGIN); lookups in its handle also search
        // those dependencies, so ggml's functions are found through it
        SymbolLookup llama;
        try {
            llama = SymbolLookup.libraryLookup(file, arena);
        } catch (IllegalArgumentException e) {
            throw new MetagenException("llama.cpp: cannot load " + file + ": " + e.getMessage());
        }
        // before any other call: the structs below are this release's
        requireRelease(file, version(llama));

        // the prebuilt ggml keeps its CPU backends in separate libraries (one per instruction set), loaded on request
        MethodHandle loadAll = handle(llama, "ggml_backend_load_all_from_path", FunctionDescriptor.ofVoid(ADDRESS));
        MethodHandle logSet = handle(llama, "llama_log_set", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        MethodHandle backendInit = handle(llama, "llama_backend_init", FunctionDescriptor.ofVoid());
        try {
            MethodHandle callback = MethodHandles.lookup().findStatic(LlamaLibrary.class, "log",
                    MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class));
            MemorySegment stub = LINKER.upcallStub(callback,
                    FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS), arena);
            logSet.invokeExact(stub, MemorySegment.NULL);
            loadAll.invokeExact(arena.allocateFrom(directory.toString()));
            backendInit.invokeExact();
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: initialising the library in " + directory + " failed: " + t);
        }

        modelDefaultParams = handle(llama, "llama_model_default_params", FunctionDescriptor.of(MODEL_PARAMS));
        contextDefaultParams = handle(llama, "llama_context_default_params", FunctionDescriptor.of(CONTEXT_PARAMS));
        modelLoadFromFile = handle(llama, "llama_model_load_from_file",
                FunctionDescriptor.of(ADDRESS, ADDRESS, MODEL_PARAMS));
        modelFree = handle(llama, "llama_model_free", FunctionDescriptor.ofVoid(ADDRESS));
        initFromModel = handle(llama, "llama_init_from_model", FunctionDescriptor.of(ADDRESS, ADDRESS, CONTEXT_PARAMS));
        free = handle(llama, "llama_free", FunctionDescriptor.ofVoid(ADDRESS));
        modelGetVocab = handle(llama, "llama_model_get_vocab", FunctionDescriptor.of(ADDRESS, ADDRESS));
        modelNCtxTrain = handle(llama, "llama_model_n_ctx_train", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelNEmbd = handle(llama, "llama_model_n_embd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelNLayer = handle(llama, "llama_model_n_layer", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelNParams = handle(llama, "llama_model_n_params", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        modelMetaValStr = handle(llama, "llama_model_meta_val_str",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        modelDesc = handle(llama, "llama_model_desc", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        nCtx = handle(llama, "llama_n_ctx", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabNTokens = handle(llama, "llama_vocab_n_tokens", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabBos = handle(llama, "llama_vocab_bos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabEos = handle(llama, "llama_vocab_eos", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabPad = handle(llama, "llama_vocab_pad", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        vocabIsEog = handle(llama, "llama_vocab_is_eog", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT));
        vocabGetAddBos = handle(llama, "llama_vocab_get_add_bos", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS));
        vocabGetAddEos = handle(llama, "llama_vocab_get_add_eos", FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS));
        vocabGetText = handle(llama, "llama_vocab_get_text", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        tokenize = handle(llama, "llama_tokenize", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
        tokenToPiece = handle(llama, "llama_token_to_piece", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_BOOLEAN));
        detokenize = handle(llama, "llama_detokenize", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
        batchInit = handle(llama, "llama_batch_init", FunctionDescriptor.of(BATCH, JAVA_INT, JAVA_INT, JAVA_INT));
        batchFree = handle(llama, "llama_batch_free", FunctionDescriptor.ofVoid(BATCH));
        decode = handle(llama, "llama_decode", FunctionDescriptor.of(JAVA_INT, ADDRESS, BATCH));
        getLogitsIth = handle(llama, "llama_get_logits_ith", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        setEmbeddings = handle(llama, "llama_set_embeddings", FunctionDescriptor.ofVoid(ADDRESS, JAVA_BOOLEAN));
        getEmbeddingsIth = handle(llama, "llama_get_embeddings_ith", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        getEmbeddingsSeq = handle(llama, "llama_get_embeddings_seq", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        memoryClear = handle(llama, "llama_memory_clear", FunctionDescriptor.ofVoid(ADDRESS, JAVA_BOOLEAN));
        modelNClsOut = handle(llama, "llama_model_n_cls_out", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        modelClsLabel = handle(llama, "llama_model_cls_label", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        getMemory = handle(llama, "llama_get_memory", FunctionDescriptor.of(ADDRESS, ADDRESS));
        memorySeqCp = handle(llama, "llama_memory_seq_cp",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        memorySeqRm = handle(llama, "llama_memory_seq_rm",
                FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
        memorySeqPosMax = handle(llama, "llama_memory_seq_pos_max", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    /** Loads and initialises the library in {@code directory}, refusing one of another release. */
    static LlamaLibrary open(Path directory) {
        return new LlamaLibrary(directory);
    }

    /** The library file in {@code directory} (see {@link #LIBRARY_NAME}), if there is one. */
    static Optional<Path> libraryFile(Path directory) {
        if (Files.isRegularFile(directory.resolve(LIBRARY_FILE))) {
            return Optional.of(directory.resolve(LIBRARY_FILE));
        }
        try (var files = Files.list(directory)) {
            Optional<Path> variant = files.filter(f -> LIBRARY_NAME.matcher(f.getFileName().toString()).matches())
                    .filter(Files::isRegularFile).sorted().findFirst();
            if (variant.isPresent()) {
                return variant;
            }
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
        return PLAIN_NAMES.stream().map(directory::resolve).filter(Files::exists).findFirst();
    }

    /** What {@code llama_version()} of {@code llama} returns, or {@code null} when the library has no such function. */
    private static String version(SymbolLookup llama) {
        Optional<MemorySegment> symbol = llama.find("llama_version");
        if (symbol.isEmpty()) {
            return null;
        }
        try {
            MemorySegment v = (MemorySegment) LINKER.downcallHandle(symbol.get(), FunctionDescriptor.of(ADDRESS))
                    .invokeExact();
            return string(v);
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_version() failed: " + t);
        }
    }

    /**
     * Refuses a library whose version is not {@link #RELEASE}: {@code version} is what its {@code llama_version()}
     * returned ({@code null} when it has none, as releases before 0.5.0 numbered by build do not). A build of the
     * bundled source reports {@code 0.5.0-dev} unless configured with {@code -DLLAMA_BUILD_IS_DEV=OFF}; node-llama-cpp's
     * own libraries report that too, so the suffix is accepted.
     */
    static void requireRelease(Path file, String version) {
        if (version != null && (version.equals(RELEASE) || version.startsWith(RELEASE + "-"))) {
            return;
        }
        throw new MetagenException("llama.cpp: " + file + " is " + (version == null
                ? "not llama.cpp " + RELEASE + " (it has no llama_version())" : "llama.cpp " + version)
                + "; this binding needs llama.cpp " + RELEASE + " (the release node-llama-cpp " + NODE_LLAMA_CPP
                + " ships, e.g. npm @node-llama-cpp/linux-x64@" + NODE_LLAMA_CPP + ")");
    }

    /**
     * Makes the library in {@code directory} the process-wide one ({@code --llama-lib}); a second call with the same
     * directory does nothing.
     *
     * @throws MetagenException if it holds no libllama of the supported release, or another directory's library is
     *                          already loaded (a process holds one libllama)
     */
    static LlamaLibrary use(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        if (libraryFile(dir).isEmpty()) {
            throw new MetagenException("--llama-lib " + directory + " does not contain " + LIBRARY_FILE
                    + " (or another build of llama.cpp " + RELEASE + ": libllama.<gpu>.v" + RELEASE
                    + ".so, libllama.so)");
        }
        synchronized (LlamaLibrary.class) {
            if (instance != null) {
                if (!instance.directory.toAbsolutePath().normalize().equals(dir)) {
                    throw new MetagenException("--llama-lib " + directory + ": this process already loaded llama.cpp from "
                            + instance.directory + " (one libllama per process)");
                }
                return instance;
            }
            instance = open(dir);
            return instance;
        }
    }

    /** The process-wide library: loaded and initialised on first use from {@link #locate()}. */
    static LlamaLibrary get() {
        LlamaLibrary lib = instance;
        if (lib == null) {
            synchronized (LlamaLibrary.class) {
                lib = instance;
                if (lib == null) {
                    Path dir = locate().orElseThrow(() -> new MetagenException("llama.cpp library not found: set -D"
                            + PROPERTY + " or " + ENV + " to the directory holding " + LIBRARY_FILE
                            + " (node-llama-cpp's @node-llama-cpp/linux-x64/bins/linux-x64)"));
                    lib = open(dir);
                    instance = lib;
                }
            }
        }
        return lib;
    }

    /**
     * The directory holding {@link #LIBRARY_FILE}: the system property, else the environment variable (either must
     * then hold it), else {@link #NODE_MODULES_DIR} under the working directory or one of its parents.
     *
     * @throws MetagenException if the property or variable names a directory without the library
     */
    static Optional<Path> locate() {
        String configured = System.getProperty(PROPERTY);
        String source = "-D" + PROPERTY;
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(ENV);
            source = ENV;
        }
        if (configured != null && !configured.isBlank()) {
            Path dir = Path.of(configured).toAbsolutePath();
            if (libraryFile(dir).isEmpty()) {
                throw new MetagenException(source + "=" + configured + " does not contain " + LIBRARY_FILE
                        + " (or another build of llama.cpp " + RELEASE + ": libllama.<gpu>.v" + RELEASE
                        + ".so, libllama.so)");
            }
            return Optional.of(dir);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path dir = p.resolve(NODE_MODULES_DIR);
            if (Files.isRegularFile(dir.resolve(LIBRARY_FILE))) {
                return Optional.of(dir);
            }
        }
        return Optional.empty();
    }

    private static MethodHandle handle(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() -> new MetagenException(
                "llama.cpp: symbol " + name + " missing from the library (a different llama.cpp release?)"));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /** ggml_log_callback: keeps the last error for exception messages; everything else is dropped. */
    @SuppressWarnings("unused")
    private static void log(int level, MemorySegment text, MemorySegment userData) {
        if (level == GGML_LOG_LEVEL_ERROR && !text.equals(MemorySegment.NULL)) {
            lastError = text.reinterpret(Long.MAX_VALUE).getString(0).strip();
        }
    }

    /** The last error libllama logged, or an empty string; cleared by the call. */
    static String takeLastError() {
        String e = lastError;
        lastError = "";
        return e;
    }

    /** Reads a NUL-terminated C string that the library owns. */
    static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? null : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

}
