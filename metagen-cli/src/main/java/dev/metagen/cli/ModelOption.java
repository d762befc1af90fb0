package dev.metagen.cli;

import dev.metagen.core.MetagenException;
import dev.metagen.runtime.ModelRegistry;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code --model} option shared by the commands that run or read a model: a reference, or with
 * {@code NAME=REF} (repeatable, where the command runs strategies) a named model of the run's {@link ModelRegistry}.
 */
final class ModelOption {
    static final String DEFAULT_MODEL = "hf:ggml-org/tiny-llamas/stories260K.gguf";

    @Option(names = {"-m", "--model"}, paramLabel = "[NAME=]MODEL",
            description = "A .gguf path or hf:OWNER/REPO/FILE.gguf (cached in $METAGEN_HOME, default ~/.metagen); "
                    + "NAME=MODEL names another model for strategy leaves, judges and guidance (\"model\": \"NAME\"; "
                    + "generate, serve and eval; repeatable); NAME=http(s)://HOST:PORT/v1[#SERVED_MODEL] names a remote "
                    + "OpenAI-compatible endpoint for sample, greedy and constrained leaves; llamacpp:MODEL runs a model on "
                    + "llama.cpp. Default: " + DEFAULT_MODEL + ".")
    List<String> specs = new ArrayList<>();

    /** The default model's reference (the built-in default when none is given). */
    String model() {
        return named().getOrDefault(ModelRegistry.DEFAULT, DEFAULT_MODEL);
    }

    /** Every {@code --model} by name ({@link ModelRegistry#DEFAULT} for the unnamed one). */
    Map<String, String> named() {
        return ModelRegistry.parse(specs);
    }

    /** The named models other than the default one. */
    Map<String, String> others() {
        Map<String, String> m = new LinkedHashMap<>(named());
        m.remove(ModelRegistry.DEFAULT);
        return m;
    }

    /** The default model's file; a command that runs one model refuses named ones. */
    Path resolve() {
        return resolve(single());
    }

    /** The default model's reference; a command that runs one model refuses named ones. */
    String single() {
        if (!others().isEmpty()) {
            throw new MetagenException("--model NAME=MODEL names models for strategies: this command runs one model");
        }
        return model();
    }

    /** The default model's file, with the named models allowed (they are loaded on use). */
    Path resolveDefault() {
        return resolve(model());
    }

    static Path resolve(String spec) {
        if (ModelRegistry.isEndpointReference(spec)) {
            throw new MetagenException("--model " + spec + ": a remote endpoint needs a name (--model NAME=" + spec
                    + ") and serves strategy leaves; the default model is a local one");
        }
        return ModelResolution.resolve(spec);
    }
}
