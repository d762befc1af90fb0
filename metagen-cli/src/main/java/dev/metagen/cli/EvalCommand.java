package dev.metagen.cli;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelRegistry;
import dev.metagen.client.RemoteGenerator;
import dev.metagen.client.RemoteLeaves;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.core.LanguageModel;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.eval.Evaluation;
import dev.metagen.eval.report.Point;
import dev.metagen.eval.sweep.SweepListener;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;

/**
 * {@code metagen eval}: every {@code --strategy} at every budget on every problem of a dataset, graded by a task;
 * writes results.jsonl (resumable), summary.json, plots and report.html into {@code --out} (metagen-eval).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate strategies x budgets on a dataset: results.jsonl, summary.json, plots, report.html.")
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    BackendOption backend;

    @Option(names = "--dataset", required = true, paramLabel = "FILE", description = "The dataset (JSONL; for --task json also a folder of schema files).")
    Path dataset;

    @Option(names = "--task", required = true, description = "gsm8k, math500, humaneval, json, lexical or custom.")
    String task;

    @Option(names = "--grader", description = "For --task custom: regex:PATTERN or command:SHELL_COMMAND.")
    String grader;

    @Option(names = "--strategy", required = true, paramLabel = "SPEC", description = "A strategy spec: inline JSON or @FILE; optional \"name\" and \"knob\" fields (repeatable).")
    List<String> strategies;

    @Option(names = "--budgets", defaultValue = "1,2,4,8", split = ",", description = "Values of each strategy's budget knob (default: ${DEFAULT-VALUE}).")
    List<Integer> budgets;

    @Option(names = "--endpoint", paramLabel = "URL", description = "Generate through a metagen / OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1) instead of a local model; --model then names the served model.")
    String endpoint;

    @Option(names = "--limit", description = "Evaluate the first N problems only.")
    Integer limit;

    @Option(names = "--out", defaultValue = "eval-out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the whole sweep (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--parallel", defaultValue = "1", description = "Problems evaluated at once, e.g. to keep a server busy (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--no-reuse", description = "Compute every budget from scratch instead of reusing the largest budget's samples (to measure the saving; same results).")
    boolean noReuse;

    @Option(names = "--resume", description = "Continue the run in --out, skipping finished work.")
    boolean resume;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "64", description = "Maximum tokens per leaf generation (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature of the leaves (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Top-k of the leaves; 0 disables (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Top-p of the leaves; 1 disables (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--stop", description = "Stop string of the leaves (repeatable).")
    List<String> stop = new ArrayList<>();

    @Mixin
    ThreadsOption threadsOption;

    int threads; // --threads, checked

    @Mixin
    ContextOption contextOption;

    int contextLength; // --ctx, checked

    @Mixin
    SandboxOptions sandbox;

    @Option(names = "--spark", paramLabel = "MASTER", description = "Run the sweep on Apache Spark: local[N], spark://HOST:PORT, or default (what spark-submit configured); every worker loads the models from the same paths (docs/spark.md).")
    String spark;

    @Option(names = "--json", description = "Print summary.json's content on stdout as one JSON object.")
    boolean json;

    @Option(names = "--no-progress", description = "No progress bar on stderr.")
    boolean noProgress;

    @Override
    public Integer call() {
        threads = threadsOption.threads(spec);
        contextLength = contextOption.contextLength(spec);
        GenerationParams params;
        Evaluation.Plan plan;
        try {
            params = new GenerationParams(maxTokens, temperature, topK, topP, seed, true, stop);
            String source = endpoint != null ? endpoint : model.model();
            plan = Evaluation.plan(new Evaluation.Options(dataset, task, grader, strategies, budgets, limit, out, seed,
                    resume, params, source, parallel, !noReuse, sandbox.limits(spec)));
            // a bad spec is a usage error, found before loading the model; the task's verifier is bound per problem
            if (endpoint != null && !model.others().isEmpty()) {
                throw new MetagenException("--endpoint runs every leaf on that endpoint: --model NAME=MODEL names models"
                        + " beside a local default model (drop --endpoint, or name the endpoint too: --model NAME=URL)");
            }
            var validator = LeafGenerators.validator(plan.options().sandbox(),
                    endpoint != null ? null : withDefault(model.named().keySet()), ModelRegistry.remoteNames(model.others()));
            plan.task().verifier(plan.problems().getFirst())
                    .ifPresent(v -> validator.registerScorer(plan.task().name(), node -> v));
            for (var s : plan.strategies()) {
                validator.parse(s.specAt(budgets.getFirst()));
            }
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Evaluation.Result result;
        if (spark != null) {
            result = onSpark(plan);
        } else if (endpoint != null) {
            if (spec.commandLine().getParseResult().hasMatchedOption("--backend")) {
                throw new ParameterException(spec.commandLine(), "--backend picks where local models run; with --endpoint the remote server runs the model");
            }
            URI uri;
            try {
                uri = URI.create(endpoint);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--endpoint: not a URL: " + endpoint);
            }
            if (uri.getScheme() == null || !uri.getScheme().startsWith("http") || uri.getHost() == null) {
                throw new ParameterException(spec.commandLine(), "--endpoint must be an http(s)://host:port URL, got " + endpoint);
            }
            RemoteGenerator.Builder b = RemoteGenerator.builder().endpoint(uri).logprobs(true);
            if (spec.commandLine().getParseResult().hasMatchedOption("--model")) {
                b.model(model.model()); // the name the server knows the model by
            }
            try (RemoteGenerator remote = b.build(); Progress progress = new Progress(noProgress)) {
                result = Evaluation.run(plan, new RemoteLeaves(remote), progress);
            }
        } else {
            ModelOptions options = new ModelOptions(threads, contextLength);
            // named models (--model NAME=REF, a local model or an endpoint) serve the strategies' leaves, judges
            // and guidance; loaded on first use
            ModelLoader loader = backend.loader(spec, options);
            try (LanguageModel m = loader.load(model.model());
                 ModelRegistry registry = ModelRegistry.of(m, model.others(), loader::load, RemoteGenerator::forReference);
                 Progress progress = new Progress(noProgress)) {
                result = Evaluation.run(plan, new LeafGenerators(registry, false), progress);
            }
        }
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            o.println(Json.write(result.json()));
        } else {
            o.printf("%-24s %6s %8s %17s %10s %10s%n", "strategy", "budget", "accuracy", "95% CI", "gen.tok", "calls");
            for (Point p : result.summary().points()) {
                o.printf(Locale.ROOT, "%-24s %6d %8.3f [%6.3f, %6.3f] %10.1f %10.1f%n", p.strategy(), p.budget(), p.accuracy(),
                        p.ci().low(), p.ci().high(), p.meanGeneratedTokens(), p.meanModelCalls());
            }
            o.printf(Locale.ROOT, "sample reuse: %d generated tokens reported, %d computed (%.1f%% saved)%n",
                    result.summary().reportedGeneratedTokens(), result.summary().spentGeneratedTokens(), 100 * result.summary().saving());
            o.println("wrote " + out.resolve("report.html"));
        }
        return 0;
    }

    /**
     * The sweep on a cluster: model references are resolved here (downloads included), so every worker opens the
     * same files; the runner comes from metagen-spark through {@link ServiceLoader}.
     */
    private Evaluation.Result onSpark(Evaluation.Plan plan) {
        var parsed = spec.commandLine().getParseResult();
        for (String local : List.of("--endpoint", "--parallel")) {
            if (parsed.hasMatchedOption(local)) {
                throw new ParameterException(spec.commandLine(), local + " does not apply with --spark: "
                        + (local.equals("--parallel") ? "Spark runs the problems in parallel on its executors"
                        : "workers load local models (name an endpoint for leaves with --model NAME=URL)"));
            }
        }
        ClusterRunner runner = ServiceLoader.load(ClusterRunner.class).stream().map(ServiceLoader.Provider::get)
                .filter(r -> r.name().equals("spark")).findFirst()
                .orElseThrow(() -> new ParameterException(spec.commandLine(), "--spark needs metagen-spark and Spark on the class path: "
                        + "run ./metagen eval --spark ... (which adds them) or spark-submit (docs/spark.md)"));
        ModelLoader loader = backend.loader(spec, new ModelOptions(threads, contextLength));
        Map<String, String> named = new java.util.LinkedHashMap<>();
        model.others().forEach((name, ref) -> named.put(name, ModelRegistry.isEndpointReference(ref) ? ref : resolved(loader, ref)));
        var models = new ClusterRunner.Models(resolved(loader, model.model()), named, loader.backend().flag(), threads, contextLength);
        try (Progress progress = new Progress(noProgress)) {
            return runner.run(plan, models, spark, progress);
        }
    }

    private static String resolved(ModelLoader loader, String ref) {
        String file = loader.file(ref).toAbsolutePath().toString();
        return ref.startsWith(ModelLoader.LLAMACPP_PREFIX) ? ModelLoader.LLAMACPP_PREFIX + file : file;
    }

    /** The progress bar: runs done of problem x strategy x budget, problems done, tokens generated, ETA. */
    private static final class Progress implements SweepListener, AutoCloseable {
        private final boolean off;
        private ProgressBar bar;
        private int problems;

        Progress(boolean off) {
            this.off = off;
        }

        @Override
        public void started(int problems, long units, long alreadyDone) {
            this.problems = problems;
            if (!off) {
                bar = new ProgressBarBuilder().setTaskName("eval").setInitialMax(units).setStyle(ProgressBarStyle.ASCII)
                        .setUnit(" runs", 1).showSpeed().continuousUpdate().build();
                bar.stepTo(alreadyDone);
            }
        }

        @Override
        public void finished(Map<String, Object> row, int problemsDone, long spentGeneratedTokens) {
            if (bar != null) {
                bar.step();
                bar.setExtraMessage(" problem " + problemsDone + "/" + problems + ", " + spentGeneratedTokens + " tokens");
            }
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }

    private static java.util.Set<String> withDefault(java.util.Set<String> names) {
        java.util.Set<String> all = new java.util.HashSet<>(names);
        all.add(ModelRegistry.DEFAULT);
        return all;
    }
}
