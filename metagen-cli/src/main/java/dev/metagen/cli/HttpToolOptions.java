package dev.metagen.cli;

import dev.metagen.meta.tools.HttpTool;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The operator's allow-list for a strategy's {@code http} tools and the limits of each call (docs/tools.md). */
final class HttpToolOptions {
    @Option(names = "--allow-tool-url", paramLabel = "URL|HOST",
            description = "A URL prefix (https://host/path/) or a host name that tool_loop http tools may call; repeatable. None by default.")
    List<String> allowed = new ArrayList<>();

    @Option(names = "--tool-timeout-ms", defaultValue = "10000", paramLabel = "MS",
            description = "Most time one http tool call may take (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--tool-max-bytes", defaultValue = "65536", paramLabel = "BYTES",
            description = "Most bytes of an http tool call's arguments and of its response (default: ${DEFAULT-VALUE}).")
    int maxBytes;

    /** The policy where strategies can run ({@code applies}); otherwise refuses any of these flags given. */
    HttpTool.Policy policy(CommandSpec spec, boolean applies, String when) {
        if (!applies) {
            for (String n : List.of("--allow-tool-url", "--tool-timeout-ms", "--tool-max-bytes")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(n)) {
                    throw new ParameterException(spec.commandLine(), n + " applies only " + when);
                }
            }
            return HttpTool.Policy.NONE;
        }
        return policy(spec);
    }

    HttpTool.Policy policy(CommandSpec spec) {
        if (timeoutMs < 1 || timeoutMs > 600_000) {
            throw new ParameterException(spec.commandLine(), "--tool-timeout-ms must be in [1, 600000], got " + timeoutMs);
        }
        if (maxBytes < 1 || maxBytes > (64 << 20)) {
            throw new ParameterException(spec.commandLine(), "--tool-max-bytes must be in [1, 67108864], got " + maxBytes);
        }
        for (String a : allowed) {
            String probe = a.contains("://") ? a : "https://" + a + "/";
            String why = new HttpTool.Policy(List.of(a), Duration.ofSeconds(1), 1, 1).refusal(probe);
            if (why != null || a.isBlank()) {
                throw new ParameterException(spec.commandLine(), "--allow-tool-url '" + a + "': " + (why == null ? "empty" : why));
            }
        }
        return new HttpTool.Policy(allowed, Duration.ofMillis(timeoutMs), maxBytes, maxBytes);
    }
}
