package dev.metagen.runtime;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.llamacpp.LlamaCppModel;
import dev.metagen.llamacpp.LlamaCppOptions;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Function;

/**
 * Opens a model reference as a {@link LanguageModel} on the pure-Java engine or on llama.cpp: the one place where
 * the front ends turn {@code --model} references (the default model and named ones) into models.
 * A reference {@code llamacpp:REF} runs on llama.cpp whatever the run's backend; any other reference runs on the
 * run's backend ({@code --backend}). {@code REF} is resolved by the front end's resolver (a path or {@code hf:...}).
 */
public final class ModelLoader {
    /** The prefix of a reference that runs on llama.cpp. */
    public static final String LLAMACPP_PREFIX = "llamacpp:";

    /** The implementations of {@link LanguageModel} a local reference can run on. */
    public enum Backend {
        PURE_JAVA("pure-java"), LLAMACPP("llamacpp");

        private final String flag;

        Backend(String flag) {
            this.flag = flag;
        }

        /** The name that {@code --backend} takes. */
        public String flag() {
            return flag;
        }

        /** The backend {@code model} runs on, or null for a model of neither (a test double). */
        public static Backend of(LanguageModel model) {
            return model instanceof LlamaCppModel ? LLAMACPP : model instanceof TransformerModel ? PURE_JAVA : null;
        }

        /** The backend named {@code name} ({@code pure-java} or {@code llamacpp}). */
        public static Backend parse(String name) {
            for (Backend b : values()) {
                if (b.flag.equals(name.toLowerCase(Locale.ROOT))) {
                    return b;
                }
            }
            throw new MetagenException("--backend must be pure-java or llamacpp, got '" + name + "'");
        }
    }

    private final Backend backend;
    private final ModelOptions engineOptions;
    private final LlamaCppOptions llamaOptions;
    private final Function<String, Path> resolver;

    /**
     * @param backend       where references without a {@code llamacpp:} prefix run
     * @param engineOptions the pure-Java engine's settings
     * @param llamaOptions  the llama.cpp context's settings
     * @param resolver      turns a reference without the prefix into a local file (downloading {@code hf:} ones)
     */
    public ModelLoader(Backend backend, ModelOptions engineOptions, LlamaCppOptions llamaOptions, Function<String, Path> resolver) {
        this.backend = backend;
        this.engineOptions = engineOptions;
        this.llamaOptions = llamaOptions;
        this.resolver = resolver;
    }

    /** The run's backend (for references without a prefix). */
    public Backend backend() {
        return backend;
    }

    /** Where {@code ref} runs: llama.cpp for a {@code llamacpp:} reference, else the run's backend. */
    public Backend backendOf(String ref) {
        return ref.startsWith(LLAMACPP_PREFIX) ? Backend.LLAMACPP : backend;
    }

    /** {@code ref} without its {@code llamacpp:} prefix. */
    public static String withoutPrefix(String ref) {
        return ref.startsWith(LLAMACPP_PREFIX) ? ref.substring(LLAMACPP_PREFIX.length()) : ref;
    }

    /** The local file of {@code ref} (resolved, and downloaded where it is an {@code hf:} reference not yet cached). */
    public Path file(String ref) {
        String plain = withoutPrefix(ref);
        if (plain.isBlank()) {
            throw new MetagenException("--model " + ref + ": the model reference after '" + LLAMACPP_PREFIX + "' is empty");
        }
        return resolver.apply(plain);
    }

    /** Opens {@code ref} on its backend; the caller closes it. */
    public LanguageModel load(String ref) {
        Path file = file(ref);
        return switch (backendOf(ref)) {
            case LLAMACPP -> {
                if (java.nio.file.Files.isDirectory(file)) {
                    throw new MetagenException("--model " + ref + ": llama.cpp loads GGUF files, not model directories"
                            + " (run it on the pure-Java engine, or convert it first: metagen convert " + file + " OUT.gguf)");
                }
                yield LlamaCppModel.load(file, llamaOptions);
            }
            case PURE_JAVA -> TransformerModel.load(file, engineOptions);
        };
    }

    /** The GGUF file (or Hugging Face model directory) a model was loaded from, or null for a model of neither backend. */
    public static Path fileOf(LanguageModel model) {
        if (model instanceof TransformerModel t) {
            return t.file().path();
        }
        if (model instanceof LlamaCppModel l) {
            return l.path();
        }
        return null;
    }

    /**
     * The model's own chat template ({@code tokenizer.chat_template} of its GGUF file, read by the engine's GGUF reader
     * whatever the backend), or {@link ChatTemplate#fallback()} when it has none (check {@link ChatTemplate#isFallback()}).
     */
    public static ChatTemplate chatTemplate(LanguageModel model) {
        if (model instanceof TransformerModel t) {
            return ChatTemplate.forModel(t);
        }
        Path file = fileOf(model);
        if (file == null) {
            return ChatTemplate.fallback();
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            return ChatTemplate.fromModel(gguf).orElseGet(ChatTemplate::fallback);
        }
    }

    /** A template from its source with the BOS/EOS token texts of the model's GGUF file ({@code --chat-template FILE}). */
    public static ChatTemplate chatTemplate(LanguageModel model, String name, String jinjaSource) {
        if (model instanceof TransformerModel t) {
            return ChatTemplate.of(name, jinjaSource, t.file());
        }
        Path file = fileOf(model);
        if (file == null) {
            return ChatTemplate.of(name, jinjaSource, "", "");
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            return ChatTemplate.of(name, jinjaSource, gguf);
        }
    }
}
