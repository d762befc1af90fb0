package dev.metagen.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** The bound every command puts on {@code --threads}: 0 (all processors) up to four threads per available processor. */
final class ThreadsOption {
    /** Threads per processor allowed: more only adds switching and memory (each worker has its own buffers). */
    static final int PER_PROCESSOR = 4;

    private ThreadsOption() {
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
