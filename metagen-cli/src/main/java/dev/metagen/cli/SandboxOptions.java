package dev.metagen.cli;

import dev.metagen.meta.tools.Sandbox;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.time.Duration;
import java.util.List;

/**
 * The operator's limits on sandboxed code (the {@code python} tool, the {@code python_tests} scorer, the
 * {@code humaneval} task): strategy specs may ask for less, never for more (docs/security.md).
 */
final class SandboxOptions {
    static final List<String> NAMES = List.of("--sandbox-timeout-ms", "--sandbox-memory-mb", "--sandbox-cpu-seconds", "--sandbox-max-output-bytes");

    @Option(names = "--sandbox-timeout-ms", defaultValue = "5000", paramLabel = "MS",
            description = "Most wall-clock time a sandboxed program may run (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--sandbox-memory-mb", defaultValue = "512", paramLabel = "MB",
            description = "Most address space of a sandboxed process, in MiB (default: ${DEFAULT-VALUE}).")
    long memoryMb;

    @Option(names = "--sandbox-cpu-seconds", defaultValue = "5", paramLabel = "S",
            description = "Most CPU time of a sandboxed process (default: ${DEFAULT-VALUE}).")
    int cpuSeconds;

    @Option(names = "--sandbox-max-output-bytes", defaultValue = "65536", paramLabel = "BYTES",
            description = "Most output kept of a sandboxed program's stdout and of its stderr; more stops it (default: ${DEFAULT-VALUE}).")
    int maxOutputBytes;

    /** The limits; each must be positive (memory at least 16 MiB). */
    Sandbox.Limits limits(CommandSpec spec) {
        if (timeoutMs < 1 || timeoutMs > 86_400_000L) {
            throw new ParameterException(spec.commandLine(), "--sandbox-timeout-ms must be in [1, 86400000], got " + timeoutMs);
        }
        if (memoryMb < 16 || memoryMb > (1L << 30)) {
            throw new ParameterException(spec.commandLine(), "--sandbox-memory-mb must be in [16, 1073741824], got " + memoryMb);
        }
        if (cpuSeconds < 1) {
            throw new ParameterException(spec.commandLine(), "--sandbox-cpu-seconds must be >= 1, got " + cpuSeconds);
        }
        if (maxOutputBytes < 1) {
            throw new ParameterException(spec.commandLine(), "--sandbox-max-output-bytes must be >= 1, got " + maxOutputBytes);
        }
        return new Sandbox.Limits(Duration.ofMillis(timeoutMs), memoryMb << 20, cpuSeconds, maxOutputBytes);
    }

    /** The limits when code may run ({@code applies}); otherwise refuses any {@code --sandbox-*} flag given and returns null. */
    Sandbox.Limits limits(CommandSpec spec, boolean applies, String when) {
        if (!applies) {
            for (String n : NAMES) {
                if (spec.commandLine().getParseResult().hasMatchedOption(n)) {
                    throw new ParameterException(spec.commandLine(), n + " applies only " + when);
                }
            }
            return null;
        }
        return limits(spec);
    }
}
