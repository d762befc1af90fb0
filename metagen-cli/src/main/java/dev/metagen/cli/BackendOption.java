package dev.metagen.cli;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.llamacpp.LlamaCppOptions;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.runtime.ModelLoader.Backend;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.util.List;

/**
 * The {@code --backend} option of the commands that run models: where references without a {@code llamacpp:} prefix
 * run (the pure-Java engine or llama.cpp), and the refusal of the engine's own settings where the model runs on llama.cpp.
 */
final class BackendOption {
    @Option(names = "--backend", defaultValue = "pure-java", paramLabel = "pure-java|llamacpp",
            description = "Run the models on the pure-Java engine or on llama.cpp (libllama: -Dmetagen.llamacpp.lib, "
                    + "METAGEN_LLAMA_LIB or node-llama-cpp's build); a llamacpp:MODEL reference runs on llama.cpp "
                    + "either way (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--llama-lib", paramLabel = "DIR", description = "The directory holding libllama of llama.cpp 0.5.0 "
            + "(node-llama-cpp 3.22.1's CPU, CUDA or Vulkan build, or a CMake build of its source); default: "
            + "METAGEN_LLAMA_LIB, else node-llama-cpp under test-support/llamacpp. Loaded and version-checked at start.")
    java.nio.file.Path llamaLib;

    @Option(names = "--gpu-layers", defaultValue = "0", paramLabel = "N", description = "Layers llama.cpp offloads to the GPU "
            + "of a CUDA, Metal or Vulkan build (--llama-lib); -1 = all, 0 = none (default: ${DEFAULT-VALUE}). Only for models "
            + "that run on llama.cpp.")
    int gpuLayers;

    Backend backend(CommandSpec spec) {
        try {
            return Backend.parse(name);
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** Whether the run's default model runs on llama.cpp ({@code --backend llamacpp} or a {@code llamacpp:} reference). */
    boolean defaultOnLlamaCpp(CommandSpec spec, ModelOption model) {
        return backend(spec) == Backend.LLAMACPP || model.model().startsWith(ModelLoader.LLAMACPP_PREFIX);
    }

    /**
     * Refuses each of {@code flags} that the command line gives when the default model runs on llama.cpp: they are
     * settings of the pure-Java engine (or comparisons against it) that the llama.cpp backend does not have.
     */
    void refuseEngineOnly(CommandSpec spec, ModelOption model, String... flags) {
        if (!defaultOnLlamaCpp(spec, model)) {
            return;
        }
        var parsed = spec.commandLine().getParseResult();
        for (String flag : flags) {
            if (parsed.hasMatchedOption(flag)) {
                throw new ParameterException(spec.commandLine(), flag + " applies to the pure-Java engine only; the model runs"
                        + " on llama.cpp here (--backend llamacpp or a llamacpp: model): drop " + flag + " or use --backend pure-java");
            }
        }
    }

    /** The loader of this run's models: {@code --threads} and {@code --ctx} act on both backends. */
    ModelLoader loader(CommandSpec spec, ModelOptions engine) {
        if (llamaLib != null) {
            try {
                dev.metagen.llamacpp.LlamaCppModel.useLibrary(llamaLib);
            } catch (MetagenException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        if (gpuLayers < -1) {
            throw new ParameterException(spec.commandLine(), "--gpu-layers must be >= -1 (-1 = all, 0 = none), got " + gpuLayers);
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--gpu-layers") && backend(spec) != Backend.LLAMACPP
                && spec.commandLine().getParseResult().matchedOptionValue("--model", List.<String>of()).stream()
                        .noneMatch(m -> m.contains(ModelLoader.LLAMACPP_PREFIX))) {
            throw new ParameterException(spec.commandLine(), "--gpu-layers applies to models on llama.cpp, and none runs there:"
                    + " add --backend llamacpp or use a llamacpp: model");
        }
        LlamaCppOptions llama = LlamaCppOptions.DEFAULTS.withThreads(engine.threads()).withContextLength(engine.contextLength())
                .withGpuLayers(gpuLayers);
        return new ModelLoader(backend(spec), engine, llama, ModelOption::resolve);
    }
}
