package dev.metagen.llamacpp.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.llamacpp.LlamaCppModel;
import dev.metagen.llamacpp.LlamaCppOptions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The backend that model-backed tests run on: the pure-Java engine by default, llama.cpp when the system property
 * {@value #PROPERTY} is {@code llamacpp} (the second surefire run of decoding, control and meta sets it).
 *
 * <p>Test classes that load a model through this class carry the tag {@value #MODEL_TAG} and run on both backends;
 * the ones that test an engine-only feature (prefix cache, KV blocks, engine statistics) load the engine directly
 * and carry {@value #ENGINE_ONLY_TAG} as well, which the llama.cpp run excludes.
 */
public final class TestBackend {
    /** System property naming the backend: {@code java} (default) or {@code llamacpp}. */
    public static final String PROPERTY = "metagen.test.backend";
    /** Tag of test classes that run on a model and so on both backends. */
    public static final String MODEL_TAG = "model";
    /** Tag of tests (classes or methods) of an engine-only feature, excluded from the llama.cpp run. */
    public static final String ENGINE_ONLY_TAG = "engine-only";
    /** Every model test runs on one thread: the numbers then do not depend on the machine. */
    public static final int THREADS = 1;
    public static final int CONTEXT = 512;

    private TestBackend() {
    }

    /** {@code java} or {@code llamacpp}. */
    public static String name() {
        String v = System.getProperty(PROPERTY, "java").trim().toLowerCase(Locale.ROOT);
        if (!v.equals("java") && !v.equals("llamacpp")) {
            throw new IllegalStateException("-D" + PROPERTY + " must be java or llamacpp, got " + v);
        }
        return v;
    }

    /** Whether the tests run on llama.cpp. */
    public static boolean llamaCpp() {
        return name().equals("llamacpp");
    }

    /** stories260K from ../shared on the chosen backend, one thread, 512 positions. */
    public static LanguageModel stories260k() {
        return load(SharedData.stories260k());
    }

    /** {@code gguf} on the chosen backend, one thread, 512 positions. */
    public static LanguageModel load(Path gguf) {
        return load(gguf, THREADS, CONTEXT);
    }

    /**
     * {@code gguf} on the chosen backend. On llama.cpp the context holds {@code contextLength} cells shared by all
     * sequences, with an F32 KV cache and without flash attention (LlamaCppModel's fixed settings), so only the
     * summation order differs from the engine.
     */
    public static LanguageModel load(Path gguf, int threads, int contextLength) {
        if (!llamaCpp()) {
            return TransformerModel.load(gguf, new ModelOptions(threads, contextLength));
        }
        requireLibrary();
        return LlamaCppModel.load(gguf, LlamaCppOptions.DEFAULTS.withThreads(threads).withContextLength(contextLength));
    }

    /** Aborts the calling test (reported as skipped, with the reason on stderr) when libllama cannot be found. */
    public static void requireLibrary() {
        if (!LlamaCppModel.libraryAvailable()) {
            String msg = "\n*** SKIPPED: -D" + PROPERTY + "=llamacpp but the llama.cpp library was not found. Run"
                    + " ./run-tests once (it installs node-llama-cpp under test-support/llamacpp) or set"
                    + " -Dmetagen.llamacpp.lib / METAGEN_LLAMA_LIB. ***\n";
            System.err.println(msg);
            Assumptions.abort(msg);
        }
    }
}
