package dev.metagen.server;

import dev.metagen.core.MetagenException;
import dev.metagen.meta.tools.Sandbox;

/**
 * The limits and binding of {@link OpenAiServer}.
 *
 * @param host            address to bind; 127.0.0.1 by default so nothing outside the machine reaches it
 * @param port            0 picks a free port
 * @param apiKey          when not null, every /v1 request needs {@code Authorization: Bearer apiKey}
 * @param maxConcurrent   requests generating at once
 * @param queue           requests waiting for a slot beyond which the server answers 503 with Retry-After
 * @param maxBodyBytes    largest request body
 * @param maxTokensLimit  largest max_tokens a request may ask for
 * @param maxN            largest n
 * @param deadlineMs      a request that runs longer is stopped (504); 0 = no deadline
 * @param allowCodeTools  whether strategy specs may run code (python tools and test verifiers) on this machine
 * @param sandboxLimits   the most a code tool of a request may use; a spec may ask for less, a request asking for more gets 400
 */
public record ServerConfig(String host, int port, String apiKey, int maxConcurrent, int queue, long maxBodyBytes,
                           int maxTokensLimit, int maxN, long deadlineMs, boolean allowCodeTools, Sandbox.Limits sandboxLimits) {
    /** A configuration whose code tools run within {@link Sandbox.Limits#DEFAULT}. */
    public ServerConfig(String host, int port, String apiKey, int maxConcurrent, int queue, long maxBodyBytes,
                        int maxTokensLimit, int maxN, long deadlineMs, boolean allowCodeTools) {
        this(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools, Sandbox.Limits.DEFAULT);
    }

    public ServerConfig {
        java.util.Objects.requireNonNull(sandboxLimits, "sandboxLimits");
        if (port < 0 || port > 65535) {
            throw new MetagenException("--port must be in [0, 65535], got " + port);
        }
        if (maxConcurrent < 1 || queue < 0 || maxBodyBytes < 1 || maxTokensLimit < 1 || maxN < 1 || deadlineMs < 0) {
            throw new MetagenException("server limits must be positive (max-concurrent " + maxConcurrent + ", queue " + queue
                    + ", max-body " + maxBodyBytes + ", max-tokens-limit " + maxTokensLimit + ", max-n " + maxN + ", deadline-ms " + deadlineMs + ")");
        }
        if (apiKey != null && apiKey.isEmpty()) {
            throw new MetagenException("--api-key must not be empty");
        }
    }

    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, null, 4, 64, 1 << 20, 4096, 16, 300_000, false);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools, sandboxLimits);
    }

    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, key, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools, sandboxLimits);
    }

    public ServerConfig withSandboxLimits(Sandbox.Limits limits) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools, limits);
    }

    public ServerConfig withLimits(int concurrent, int queueLength, long deadline) {
        return new ServerConfig(host, port, apiKey, concurrent, queueLength, maxBodyBytes, maxTokensLimit, maxN, deadline, allowCodeTools, sandboxLimits);
    }
}
