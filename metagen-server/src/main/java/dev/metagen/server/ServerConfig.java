package dev.metagen.server;

import dev.metagen.core.MetagenException;
import dev.metagen.meta.tools.Sandbox;

/**
 * The limits and binding of {@link OpenAiServer}. Every limit is the operator's: no request field can raise one.
 *
 * @param host                address to bind; 127.0.0.1 by default so nothing outside the machine reaches it
 * @param port                0 picks a free port
 * @param apiKey              when not null, every /v1 request needs {@code Authorization: Bearer apiKey}
 * @param maxConcurrent       requests worked on at once (parsing, compiling and generating), each on a worker thread
 * @param queue               requests waiting for a worker beyond which the server answers 503 with Retry-After
 * @param maxBodyBytes        largest request body
 * @param maxTokensLimit      largest max_tokens a request may ask for
 * @param maxN                largest n
 * @param deadlineMs          a request that runs longer is stopped (504); 0 = no deadline
 * @param allowCodeTools      whether strategy specs may run code (python tools and test verifiers) on this machine
 * @param maxConstraintBytes  largest JSON schema, grammar or regex text of a request
 * @param maxConstraintWork   compile work (grammar rules and elements, schema nodes) one constraint may cost
 * @param maxConstraintStates states a constraint's automaton may reach
 * @param maxStrategyCalls    worst-case model and tool calls of a strategy spec (per choice)
 * @param maxStrategyTokens   worst-case generated tokens of a strategy spec (per choice)
 * @param maxStrategyDepth    how deep strategies may nest in a spec
 * @param maxTemplateGrowth   how many copies of its inputs one chain template may expand to
 * @param heartbeatMs         while a request runs, a keep-alive is written this often (an SSE comment, or a space
 *                            before a JSON body) so that a client that went away is noticed; 0 = never
 * @param sandboxLimits       the most a code tool of a request may use; a spec may ask for less, a request asking for
 *                            more gets 400
 * @param httpTools           the URLs a strategy's http tools may call and the limits of each call (none by default)
 */
public record ServerConfig(String host, int port, String apiKey, int maxConcurrent, int queue, long maxBodyBytes,
                           int maxTokensLimit, int maxN, long deadlineMs, boolean allowCodeTools,
                           int maxConstraintBytes, long maxConstraintWork, int maxConstraintStates,
                           long maxStrategyCalls, long maxStrategyTokens, int maxStrategyDepth, int maxTemplateGrowth,
                           long heartbeatMs, Sandbox.Limits sandboxLimits,
                           dev.metagen.meta.tools.HttpTool.Policy httpTools) {
    public static final int DEFAULT_MAX_CONSTRAINT_BYTES = 65_536;
    public static final long DEFAULT_MAX_CONSTRAINT_WORK = 500_000;
    public static final int DEFAULT_MAX_CONSTRAINT_STATES = 50_000;
    public static final long DEFAULT_MAX_STRATEGY_CALLS = 256;
    public static final long DEFAULT_MAX_STRATEGY_TOKENS = 131_072;
    public static final int DEFAULT_MAX_STRATEGY_DEPTH = 6;
    public static final int DEFAULT_MAX_TEMPLATE_GROWTH = 16;
    public static final long DEFAULT_HEARTBEAT_MS = 1000;

    public ServerConfig {
        java.util.Objects.requireNonNull(sandboxLimits, "sandboxLimits");
        java.util.Objects.requireNonNull(httpTools, "httpTools");
        if (port < 0 || port > 65535) {
            throw new MetagenException("--port must be in [0, 65535], got " + port);
        }
        if (maxConcurrent < 1 || queue < 0 || maxBodyBytes < 1 || maxTokensLimit < 1 || maxN < 1 || deadlineMs < 0) {
            throw new MetagenException("server limits must be positive (max-concurrent " + maxConcurrent + ", queue " + queue
                    + ", max-body " + maxBodyBytes + ", max-tokens-limit " + maxTokensLimit + ", max-n " + maxN + ", deadline-ms " + deadlineMs + ")");
        }
        if (maxConstraintBytes < 1 || maxConstraintWork < 1 || maxConstraintStates < 1 || maxStrategyCalls < 1
                || maxStrategyTokens < 1 || maxStrategyDepth < 1 || maxTemplateGrowth < 1 || heartbeatMs < 0) {
            throw new MetagenException("server limits must be positive (max-constraint-bytes " + maxConstraintBytes
                    + ", max-constraint-work " + maxConstraintWork + ", max-constraint-states " + maxConstraintStates
                    + ", max-strategy-calls " + maxStrategyCalls + ", max-strategy-tokens " + maxStrategyTokens
                    + ", max-strategy-depth " + maxStrategyDepth + ", max-template-growth " + maxTemplateGrowth
                    + ", heartbeat-ms " + heartbeatMs + ")");
        }
        if (apiKey != null && apiKey.isEmpty()) {
            throw new MetagenException("--api-key must not be empty");
        }
    }

    /** The binding and request limits, with the default compile, strategy and heartbeat limits. */
    public ServerConfig(String host, int port, String apiKey, int maxConcurrent, int queue, long maxBodyBytes,
                        int maxTokensLimit, int maxN, long deadlineMs, boolean allowCodeTools) {
        this(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                DEFAULT_MAX_CONSTRAINT_BYTES, DEFAULT_MAX_CONSTRAINT_WORK, DEFAULT_MAX_CONSTRAINT_STATES,
                DEFAULT_MAX_STRATEGY_CALLS, DEFAULT_MAX_STRATEGY_TOKENS, DEFAULT_MAX_STRATEGY_DEPTH,
                DEFAULT_MAX_TEMPLATE_GROWTH, DEFAULT_HEARTBEAT_MS, Sandbox.Limits.DEFAULT, dev.metagen.meta.tools.HttpTool.Policy.NONE);
    }

    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, null, 4, 64, 1 << 20, 4096, 16, 300_000, false);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, heartbeatMs, sandboxLimits, httpTools);
    }

    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, key, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, heartbeatMs, sandboxLimits, httpTools);
    }

    public ServerConfig withLimits(int concurrent, int queueLength, long deadline) {
        return new ServerConfig(host, port, apiKey, concurrent, queueLength, maxBodyBytes, maxTokensLimit, maxN, deadline, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, heartbeatMs, sandboxLimits, httpTools);
    }

    public ServerConfig withConstraintLimits(int bytes, long work, int states) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                bytes, work, states, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth, maxTemplateGrowth, heartbeatMs, sandboxLimits, httpTools);
    }

    public ServerConfig withStrategyLimits(long calls, long tokens, int depth, int growth) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, calls, tokens, depth, growth, heartbeatMs, sandboxLimits, httpTools);
    }

    public ServerConfig withHeartbeat(long ms) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, ms, sandboxLimits, httpTools);
    }

    public ServerConfig withCodeTools(boolean allow) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allow,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, heartbeatMs, sandboxLimits, httpTools);
    }

    public ServerConfig withSandboxLimits(Sandbox.Limits limits) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, heartbeatMs, limits, httpTools);
    }

    public ServerConfig withHttpTools(dev.metagen.meta.tools.HttpTool.Policy policy) {
        return new ServerConfig(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens, maxStrategyDepth,
                maxTemplateGrowth, heartbeatMs, sandboxLimits, policy);
    }
}
