package dev.metagen.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The {@code --model} option shared by the commands that run or read a model. */
final class ModelOption {
    static final String DEFAULT_MODEL = "hf:ggml-org/tiny-llamas/stories260K.gguf";

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", defaultValue = DEFAULT_MODEL,
            description = "A .gguf path or hf:OWNER/REPO/FILE.gguf (cached in $METAGEN_HOME, default ~/.metagen). Default: ${DEFAULT-VALUE}.")
    String model;

    Path resolve() {
        return resolve(model);
    }

    static Path resolve(String spec) {
        return ModelResolution.resolve(spec);
    }
}
