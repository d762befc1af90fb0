package dev.metagen.cli;

import dev.metagen.client.RemoteGenerator;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.core.LanguageModel;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.runtime.ModelRegistry;
import dev.metagen.server.OpenAiServer;
import dev.metagen.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code metagen serve}: an OpenAI-compatible HTTP server over one model (see the README's Server section). */
@Command(name = "serve", description = "Serve a model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions).")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    BackendOption backend;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}: this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1 requests (or set METAGEN_API_KEY).")
    String apiKey;

    @Option(names = "--served-model-name", description = "The model id clients see (default: the file name without .gguf).")
    String servedName;

    @Option(names = "--max-concurrent", defaultValue = "8", description = "Requests worked on at once, each on a worker thread (default: ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--queue", defaultValue = "64", description = "Requests waiting beyond those; more get 503 + Retry-After (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-body", defaultValue = "1048576", description = "Largest request body in bytes (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--max-tokens-limit", defaultValue = "4096", description = "Largest max_tokens a request may ask (default: ${DEFAULT-VALUE}).")
    int maxTokensLimit;

    @Option(names = "--max-n", defaultValue = "16", description = "Largest n (choices per request) (default: ${DEFAULT-VALUE}).")
    int maxN;

    @Option(names = "--deadline-ms", defaultValue = "300000", description = "Stop a request after this long (504); 0 = never (default: ${DEFAULT-VALUE}).")
    long deadlineMs;

    @Option(names = "--allow-code-tools", description = "Let strategy specs run Python tools and test verifiers on this machine.")
    boolean allowCodeTools;

    @Mixin
    SandboxOptions sandbox;

    @Mixin
    HttpToolOptions httpTools;

    @Option(names = "--max-constraint-bytes", defaultValue = "" + ServerConfig.DEFAULT_MAX_CONSTRAINT_BYTES,
            description = "Largest JSON schema, grammar or regex text of a request, in bytes (default: ${DEFAULT-VALUE}).")
    int maxConstraintBytes;

    @Option(names = "--max-constraint-work", defaultValue = "" + ServerConfig.DEFAULT_MAX_CONSTRAINT_WORK,
            description = "Compile work (grammar rules and elements) one constraint may cost; more is a 400 (default: ${DEFAULT-VALUE}).")
    long maxConstraintWork;

    @Option(names = "--max-constraint-states", defaultValue = "" + ServerConfig.DEFAULT_MAX_CONSTRAINT_STATES,
            description = "States a constraint's automaton may reach (default: ${DEFAULT-VALUE}).")
    int maxConstraintStates;

    @Option(names = "--max-strategy-calls", defaultValue = "" + ServerConfig.DEFAULT_MAX_STRATEGY_CALLS,
            description = "Worst-case model and tool calls of a strategy spec, per choice (default: ${DEFAULT-VALUE}).")
    long maxStrategyCalls;

    @Option(names = "--max-strategy-tokens", defaultValue = "" + ServerConfig.DEFAULT_MAX_STRATEGY_TOKENS,
            description = "Worst-case generated tokens of a strategy spec, per choice (default: ${DEFAULT-VALUE}).")
    long maxStrategyTokens;

    @Option(names = "--max-strategy-depth", defaultValue = "" + ServerConfig.DEFAULT_MAX_STRATEGY_DEPTH,
            description = "How deep strategies may nest in a spec (default: ${DEFAULT-VALUE}).")
    int maxStrategyDepth;

    @Option(names = "--max-template-growth", defaultValue = "" + ServerConfig.DEFAULT_MAX_TEMPLATE_GROWTH,
            description = "How many copies of its inputs one chain template may expand to (default: ${DEFAULT-VALUE}).")
    int maxTemplateGrowth;

    @Option(names = "--heartbeat-ms", defaultValue = "" + ServerConfig.DEFAULT_HEARTBEAT_MS,
            description = "Keep-alive interval while a request runs, to notice clients that went away; 0 = none (default: ${DEFAULT-VALUE}).")
    long heartbeatMs;

    @Mixin
    ThreadsOption threadsOption;

    int threads; // --threads, checked

    @Mixin
    ContextOption contextOption;

    int contextLength; // --ctx, checked

    @Option(names = "--kv-budget-mib", defaultValue = "0", description = "Bound on the paged KV cache in MiB; 0 = default (8 full-context sequences, at most half the heap). Generations wait in arrival order for their share (default: ${DEFAULT-VALUE}).")
    long kvBudgetMib;

    /** Counted down on shutdown (Ctrl-C), or by a test that runs the command in-process. */
    final CountDownLatch stop = new CountDownLatch(1);
    volatile OpenAiServer running;

    @Override
    public Integer call() throws InterruptedException {
        threads = threadsOption.threads(spec);
        contextLength = contextOption.contextLength(spec);
        if (kvBudgetMib < 0 || kvBudgetMib > (1L << 30)) {
            throw new ParameterException(spec.commandLine(), "--kv-budget-mib must be in [0, 2^30], got " + kvBudgetMib);
        }
        String key = apiKey != null ? apiKey : System.getenv("METAGEN_API_KEY");
        Sandbox.Limits sandboxLimits = sandbox.limits(spec, allowCodeTools, "with --allow-code-tools");
        ServerConfig config;
        try {
            config = new ServerConfig(host, port, key, maxConcurrent, queue, maxBody, maxTokensLimit, maxN, deadlineMs, allowCodeTools,
                    maxConstraintBytes, maxConstraintWork, maxConstraintStates, maxStrategyCalls, maxStrategyTokens,
                    maxStrategyDepth, maxTemplateGrowth, heartbeatMs, sandboxLimits == null ? Sandbox.Limits.DEFAULT : sandboxLimits,
                    httpTools.policy(spec));
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (allowCodeTools && !Sandbox.available()) {
            throw new ParameterException(spec.commandLine(), "--allow-code-tools: " + Sandbox.unavailableReason());
        }
        if (key == null && !host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("::1")) {
            spec.commandLine().getErr().println("metagen: warning: listening on " + host + " without --api-key: anyone who reaches this address can use the model");
        }
        backend.refuseEngineOnly(spec, model, "--kv-budget-mib");
        ModelOptions options = new ModelOptions(threads, contextLength).withKvBudgetBytes(kvBudgetMib << 20);
        ModelLoader loader = backend.loader(spec, options);
        LanguageModel m = loader.load(model.model());
        // named models (--model NAME=REF) serve strategy leaves, judges and guidance; loaded on first use
        ModelRegistry models = ModelRegistry.of(m, model.others(), loader::load, RemoteGenerator::forReference);
        OpenAiServer server;
        try {
            server = OpenAiServer.start(m, servedName, config, models);
        } catch (RuntimeException e) {
            models.close();
            m.close();
            throw e;
        }
        Thread hook = new Thread(stop::countDown);
        Runtime.getRuntime().addShutdownHook(hook);
        spec.commandLine().getErr().printf("metagen: serving %s on http://%s:%d/v1 (%s backend; %s; Ctrl-C stops)%n", server.modelId(),
                host, server.port(), ModelLoader.Backend.of(m).flag(), key != null ? "API key required" : "no API key");
        if (!m.generationDefaults().isEmpty()) {
            spec.commandLine().getErr().println("metagen: the model's generation defaults fill the request fields left out: "
                    + m.generationDefaults());
        }
        spec.commandLine().getErr().flush();
        running = server;
        try {
            stop.await();
        } finally {
            server.close();
            models.close();
            m.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
        }
        return 0;
    }
}
