package dev.metagen.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The {@code --ctx} option of every command that runs a model, with one help text and one check. */
final class ContextOption {
    @Option(names = "--ctx", defaultValue = "0", description = "Context length in tokens; 0 = the model's, at most 4096 (default: ${DEFAULT-VALUE}).")
    int contextLength;

    /** The checked value (at most the model's context length is checked when the model is loaded). */
    int contextLength(CommandSpec spec) {
        if (contextLength < 0) {
            throw new ParameterException(spec.commandLine(), "--ctx must be >= 0 (0 = the model's), got " + contextLength);
        }
        return contextLength;
    }
}
