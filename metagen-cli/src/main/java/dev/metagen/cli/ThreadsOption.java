package dev.metagen.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The {@code --threads} option of every command that runs a model, with one help text and one bound: 0 (all
 * processors) up to four threads per available processor.
 */
final class ThreadsOption {
    /** Threads per processor allowed: more only adds switching and memory (each worker has its own buffers). */
    static final int PER_PROCESSOR = 4;

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads; 0 = all processors, at most 4 per processor (default: ${DEFAULT-VALUE}).")
    int threads;

    /** The checked value. */
    int threads(CommandSpec spec) {
        check(spec, threads);
        return threads;
    }

    static int max() {
        return Runtime.getRuntime().availableProcessors() * PER_PROCESSOR;
    }

    /** Refuses a {@code --threads} outside [0, {@link #max()}] with a usage error naming the bound. */
    static void check(CommandSpec spec, int threads) {
        if (threads < 0 || threads > max()) {
            throw new ParameterException(spec.commandLine(), "--threads must be between 1 and " + max() + " ("
                    + PER_PROCESSOR + " x the " + Runtime.getRuntime().availableProcessors()
                    + " available processors), or 0 for all processors; got " + threads);
        }
    }
}
