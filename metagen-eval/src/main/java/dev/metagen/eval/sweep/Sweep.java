package dev.metagen.eval.sweep;

import dev.metagen.core.Cost;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.eval.store.ResultStore;
import dev.metagen.eval.task.Grade;
import dev.metagen.eval.task.Problem;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.score.Verifier;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.StrategySpecs;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs every strategy at every budget on every problem (Welleck et al., 2024, section 7: quality as a function of
 * inference compute) and appends one result per run to the store. Budgets run largest first with a
 * {@link SampleCache} per problem and strategy, so a sweep costs about what its largest point costs. Runs already in
 * the store are skipped (resume). Leaf generators come from the injected {@link LeafFactory} (a local model, or a
 * remote endpoint), so the harness does not know where tokens come from.
 */
public final class Sweep {
    private final SweepConfig config;
    private final LeafFactory leaves;
    private final ResultStore store;
    private final SweepListener listener;
    // the state of the one run() of this sweep; totals are guarded by this
    private boolean started;
    private long runs;
    private Cost reported = Cost.ZERO;
    private Cost spent = Cost.ZERO;
    private int problemsDone;

    public Sweep(SweepConfig config, LeafFactory leaves, ResultStore store, SweepListener listener) {
        this.config = config;
        this.leaves = leaves;
        this.store = store;
        this.listener = listener;
    }

    /** Totals of a sweep: the cost the results report and the cost really spent (the difference is the reuse). */
    public record Totals(long runs, long skipped, Cost reported, Cost spent) {
    }

    /** Runs the sweep (once per instance). */
    public Totals run() {
        if (started) {
            throw new IllegalStateException("a Sweep runs once");
        }
        Units u = units(config, store::isDone);
        long already = u.done();
        listener.started(config.problems().size(), u.total(), already);
        started = true;
        if (config.parallel() <= 1) {
            for (int i = 0; i < config.problems().size(); i++) {
                runProblem(i);
            }
        } else {
            // problems side by side (e.g. to keep a remote server busy); each problem's seed and cache are its own,
            // so the results are those of the sequential sweep, only their order in the file differs
            try (ExecutorService pool = Executors.newFixedThreadPool(config.parallel(), Thread.ofVirtual().factory())) {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < config.problems().size(); i++) {
                    int index = i;
                    futures.add(pool.submit(() -> runProblem(index)));
                }
                for (Future<?> f : futures) {
                    try {
                        f.get();
                    } catch (ExecutionException e) {
                        pool.shutdownNow();
                        if (e.getCause() instanceof RuntimeException r) {
                            throw r;
                        }
                        throw new MetagenException("sweep failed: " + e.getCause());
                    } catch (InterruptedException e) {
                        pool.shutdownNow();
                        Thread.currentThread().interrupt();
                        throw new MetagenException("sweep interrupted");
                    }
                }
            }
        }
        synchronized (this) {
            return new Totals(runs, already, reported, spent);
        }
    }

    private void runProblem(int i) {
        runProblem(config, leaves, i, store::isDone, (row, cost, used) -> {
            store.append(row);
            synchronized (this) {
                runs++;
                spent = spent.plus(used);
                reported = reported.plus(cost);
                listener.finished(row, problemsDone, spent.generatedTokens());
            }
        });
        synchronized (this) {
            problemsDone++;
        }
    }

    /** Whether a run (problem, strategy label, budget) is already recorded. */
    @FunctionalInterface
    public interface Done {
        boolean isDone(String problem, String strategy, int budget);
    }

    /** Receives each finished run: its result row, the cost it reports and the cost really computed for it. */
    @FunctionalInterface
    public interface RowSink {
        void accept(Map<String, Object> row, Cost reported, Cost spent);
    }

    /** The budgets problem runs use for a strategy: every budget, largest first, or the smallest for a fixed strategy. */
    private static List<Integer> budgetsOf(SweepConfig config, StrategyEntry s) {
        if (s.knob() == null) {
            return List.of(config.budgets().stream().min(Integer::compare).orElseThrow());
        }
        return config.budgets().stream().distinct().sorted(Comparator.reverseOrder()).toList();
    }

    /**
     * The runs of a sweep: problem x strategy x budget.
     *
     * @param total every run of the sweep
     * @param done  those already recorded
     */
    public record Units(long total, long done) {
    }

    /** Counts the sweep's runs and those {@code done} already records. */
    public static Units units(SweepConfig config, Done done) {
        long total = 0;
        long recorded = 0;
        for (Problem p : config.problems()) {
            for (StrategyEntry s : config.strategies()) {
                for (int b : budgetsOf(config, s)) {
                    total++;
                    if (done.isDone(p.id(), s.label(), b)) {
                        recorded++;
                    }
                }
            }
        }
        return new Units(total, recorded);
    }

    /** Whether problem {@code i} has a run that is not recorded yet. */
    public static boolean pending(SweepConfig config, int i, Done done) {
        Problem p = config.problems().get(i);
        for (StrategyEntry s : config.strategies()) {
            for (int b : budgetsOf(config, s)) {
                if (!done.isDone(p.id(), s.label(), b)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Runs every strategy at every budget on problem {@code i} (its seed is {@code Seeds.derive(config.seed(), i)}),
     * skipping recorded runs; each finished run goes to {@code sink} in order. Problems are independent, so any
     * process that runs this for problem {@code i} with the same config and leaves gives the same rows (the
     * distributed runners rely on it).
     */
    public static void runProblem(SweepConfig config, LeafFactory leaves, int i, Done done, RowSink sink) {
        Problem problem = config.problems().get(i);
        long seed = Seeds.derive(config.seed(), i);
        Map<String, Grade> grades = new HashMap<>(); // outputs repeat across budgets: grade each text once
        for (StrategyEntry s : config.strategies()) {
            SampleCache cache = new SampleCache();
            StrategySpecs specs = specs(config, leaves, cache, problem);
            for (int b : budgetsOf(config, s)) {
                if (done.isDone(problem.id(), s.label(), b)) {
                    continue;
                }
                if (!config.reuse()) { // every point computed from scratch (to measure what reuse saves)
                    cache = new SampleCache();
                    specs = specs(config, leaves, cache, problem);
                }
                Cost before = cache.spent();
                long hitsBefore = cache.hits();
                Outcome out = runOne(config, specs, problem, s, b, seed, grades);
                Map<String, Object> row = out.row();
                Cost used = minus(cache.spent(), before);
                row.put("spent", costJson(used));
                // leaf calls served from the samples of a larger budget: this run's wall_ms timed the replay
                row.put("reused_samples", cache.hits() - hitsBefore);
                sink.accept(row, out.cost(), used);
            }
        }
    }

    private static StrategySpecs specs(SweepConfig config, LeafFactory leaves, SampleCache cache, Problem problem) {
        StrategySpecs specs = new StrategySpecs(cache.wrap(leaves), config.sandbox());
        Optional<Verifier> v = config.task().verifier(problem);
        v.ifPresent(verifier -> specs.registerScorer(config.task().name(), node -> verifier));
        return specs;
    }

    private record Outcome(Map<String, Object> row, Cost cost) {
    }

    private static Outcome runOne(SweepConfig config, StrategySpecs specs, Problem problem, StrategyEntry s, int budget, long seed,
                                       Map<String, Grade> grades) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("problem", problem.id());
        row.put("strategy", s.label());
        row.put("type", s.spec().path("type").asText());
        row.put("budget", budget);
        row.put("seed", seed);
        row.put("prompt", problem.prompt());
        row.put("reference", problem.reference());
        GenerationParams params = config.params().withSampling(config.params().temperature(), config.params().topK(),
                config.params().topP(), seed);
        Generation g;
        try {
            StrategySpecs.Strategy strategy = specs.parse(s.specAt(budget));
            g = strategy.generate(Prompt.of(problem.prompt()), params, new Cancellation());
        } catch (MetagenException e) { // a spec that fails on this problem: recorded as a failed run, the sweep goes on
            row.put("answer", null);
            row.put("correct", false);
            row.put("detail", "error: " + MetagenException.describe(e));
            row.put("error", MetagenException.describe(e));
            row.put("output", "");
            row.put("cost", costJson(Cost.ZERO));
            return new Outcome(row, Cost.ZERO);
        }
        Grade grade = grades.computeIfAbsent(g.text(), t -> config.task().grade(problem, t));
        row.put("answer", grade.answer());
        row.put("correct", grade.correct());
        row.put("detail", grade.detail());
        row.put("output", g.text());
        row.put("finish", g.finish().apiName());
        row.put("cost", costJson(g.cost()));
        // every candidate the strategy drew, graded: n and c for the unbiased pass@k
        List<String> candidates = candidateTexts(g.trace());
        if (!candidates.isEmpty()) {
            int c = 0;
            List<Boolean> each = new ArrayList<>();
            for (String t : candidates) {
                boolean ok = grades.computeIfAbsent(t, x -> config.task().grade(problem, x)).correct();
                each.add(ok);
                c += ok ? 1 : 0;
            }
            row.put("samples", candidates.size());
            row.put("samples_correct", c);
            row.put("candidates_correct", each);
        }
        row.put("trace", g.trace());
        return new Outcome(row, g.cost());
    }

    static List<String> candidateTexts(Map<String, Object> trace) {
        List<String> out = new ArrayList<>();
        if (trace.get("candidates") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && m.get("text") instanceof String t) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    static Map<String, Object> costJson(Cost c) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("prompt_tokens", c.promptTokens());
        o.put("generated_tokens", c.generatedTokens());
        o.put("model_calls", c.modelCalls());
        o.put("tool_calls", c.toolCalls());
        o.put("wall_ms", c.wall().toNanos() / 1e6);
        return o;
    }

    private static Cost minus(Cost a, Cost b) {
        return new Cost(a.promptTokens() - b.promptTokens(), a.generatedTokens() - b.generatedTokens(),
                a.modelCalls() - b.modelCalls(), a.toolCalls() - b.toolCalls(), a.wall().minus(b.wall()));
    }
}
