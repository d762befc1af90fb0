package dev.metagen.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.eval.report.HtmlReport;
import dev.metagen.eval.report.Plots;
import dev.metagen.eval.report.Summary;
import dev.metagen.eval.store.OutputLock;
import dev.metagen.eval.store.ResultStore;
import dev.metagen.eval.sweep.StrategyEntry;
import dev.metagen.eval.sweep.Sweep;
import dev.metagen.eval.sweep.SweepConfig;
import dev.metagen.eval.sweep.SweepListener;
import dev.metagen.eval.task.Problem;
import dev.metagen.eval.task.Task;
import dev.metagen.eval.task.Tasks;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.spec.LeafFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One evaluation: reads the dataset, sweeps strategies x budgets into {@code OUT/results.jsonl} (resumable), and
 * writes {@code OUT/summary.json}, the plots and {@code OUT/report.html}. {@code OUT/run.json} records the settings,
 * so {@code --resume} refuses to continue a run with different ones.
 */
public final class Evaluation {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * @param model  a description of where tokens come from (model file or endpoint), recorded in run.json
     * @param limit  the first N problems only (null: all)
     * @param grader the custom task's grader ({@code regex:...} / {@code command:...}), else null
     * @param parallel problems evaluated at once (not part of the run's settings: a resume may change it)
     * @param reuse    sample reuse across budgets (off: every point computed from scratch, same results)
     * @param sandbox  the operator's limits on sandboxed code: humaneval's tests run with them, and the code tools of
     *                 the strategies may only lower them
     */
    public record Options(Path dataset, String task, String grader, List<String> strategies, List<Integer> budgets,
                          Integer limit, Path out, long seed, boolean resume, GenerationParams params, String model,
                          int parallel, boolean reuse, Sandbox.Limits sandbox) {
        /** Options whose sandboxed code runs within {@link Sandbox.Limits#DEFAULT}. */
        public Options(Path dataset, String task, String grader, List<String> strategies, List<Integer> budgets,
                       Integer limit, Path out, long seed, boolean resume, GenerationParams params, String model,
                       int parallel, boolean reuse) {
            this(dataset, task, grader, strategies, budgets, limit, out, seed, resume, params, model, parallel, reuse, Sandbox.Limits.DEFAULT);
        }
    }

    /** What a finished evaluation wrote. */
    public record Result(Path out, Summary summary, Sweep.Totals totals, Map<String, Object> json) {
    }

    /** A prepared evaluation: checked options, the problems and strategies, before any model is loaded. */
    public record Plan(Options options, Task task, List<Problem> problems, List<StrategyEntry> strategies) {
    }

    private Evaluation() {
    }

    /** Checks everything that can be checked without a model (dataset, task, specs' shape, budgets, output folder). */
    public static Plan plan(Options o) {
        Plan plan = problemsAndStrategies(o);
        if (!o.resume() && Files.exists(o.out().resolve("results.jsonl"))) {
            throw new MetagenException(o.out().resolve("results.jsonl") + " already exists: pass --resume to continue that run, or choose another --out");
        }
        if (o.resume()) {
            checkManifest(o.out().resolve("run.json"), manifest(plan), false); // before any model is loaded
        }
        return plan;
    }

    /**
     * The plan without its output folder: what a worker process that computes some of the problems needs (the
     * dataset, task and strategies are read and checked as {@link #plan} does; {@code out} and {@code resume} are
     * not used).
     */
    public static Plan problemsAndStrategies(Options o) {
        if (o.budgets().isEmpty()) {
            throw new MetagenException("--budgets needs at least one budget");
        }
        for (int b : o.budgets()) {
            if (b < 1) {
                throw new MetagenException("--budgets must be positive integers, got " + b);
            }
        }
        if (o.strategies().isEmpty()) {
            throw new MetagenException("eval needs at least one --strategy");
        }
        if (o.parallel() < 1) {
            throw new MetagenException("--parallel must be >= 1, got " + o.parallel());
        }
        if (o.limit() != null && o.limit() < 1) {
            throw new MetagenException("--limit must be >= 1, got " + o.limit());
        }
        Task task = Tasks.byName(o.task(), o.grader(), o.sandbox());
        List<Problem> problems = task.read(o.dataset());
        if (o.limit() != null && problems.size() > o.limit()) {
            problems = problems.subList(0, o.limit());
        }
        Set<String> ids = new HashSet<>();
        for (Problem p : problems) {
            if (!ids.add(p.id())) {
                throw new MetagenException("dataset " + o.dataset() + ": duplicate problem id '" + p.id() + "'");
            }
        }
        List<StrategyEntry> strategies = new ArrayList<>();
        Set<String> labels = new HashSet<>();
        for (String s : o.strategies()) {
            StrategyEntry e = StrategyEntry.parse(s);
            if (!labels.add(e.label())) {
                throw new MetagenException("two strategies are named '" + e.label() + "': give them distinct \"name\" fields");
            }
            strategies.add(e);
        }
        return new Plan(o, task, problems, strategies);
    }

    public static Result run(Plan plan, LeafFactory leaves, SweepListener listener) {
        return run(plan, (config, store) -> new Sweep(config, leaves, store, listener).run());
    }

    /** Runs a sweep's problems and appends their rows to the store: in this process, or on a cluster. */
    @FunctionalInterface
    public interface SweepRunner {
        Sweep.Totals run(SweepConfig config, ResultStore store);
    }

    /**
     * Runs a prepared evaluation with {@code runner} doing the sweep: the output folder's lock, manifest, resume and
     * report are the same whoever computes the rows.
     */
    public static Result run(Plan plan, SweepRunner runner) {
        Options o = plan.options();
        Path out = o.out();
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new MetagenException("cannot create " + out + ": " + MetagenException.describe(e));
        }
        // one run per output directory: two would interleave their lines in results.jsonl
        try (OutputLock lock = OutputLock.acquire(out)) {
            Map<String, Object> run = manifest(plan);
            checkManifest(out.resolve("run.json"), run, true);
            Sweep.Totals totals;
            try (ResultStore store = o.resume() ? ResultStore.resume(out.resolve("results.jsonl"))
                    : ResultStore.create(out.resolve("results.jsonl"))) {
                totals = runner.run(config(plan), store);
            }
            return report(out, run, totals);
        }
    }

    /** The sweep a plan describes. */
    public static SweepConfig config(Plan plan) {
        Options o = plan.options();
        return new SweepConfig(plan.task(), plan.problems(), plan.strategies(), o.budgets(), o.params(), o.seed(),
                o.parallel(), o.reuse(), o.sandbox());
    }

    /** Writes summary.json, the plots and report.html from OUT/results.jsonl. */
    static Result report(Path out, Map<String, Object> run, Sweep.Totals totals) {
        List<JsonNode> rows = ResultStore.readAll(out.resolve("results.jsonl"));
        Summary summary = Summary.of(rows);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("run", run);
        json.putAll(summary.toJson());
        Map<String, Object> sweep = new LinkedHashMap<>();
        sweep.put("runs_computed", totals.runs());
        sweep.put("runs_resumed", totals.skipped());
        sweep.put("this_invocation_reported_generated_tokens", totals.reported().generatedTokens());
        sweep.put("this_invocation_spent_generated_tokens", totals.spent().generatedTokens());
        json.put("sweep", sweep);
        try {
            Files.writeString(out.resolve("summary.json"), JSON.writeValueAsString(json));
        } catch (IOException e) {
            throw new MetagenException("cannot write " + out.resolve("summary.json") + ": " + MetagenException.describe(e));
        }
        Plots.write(summary, out);
        HtmlReport.write(out, "metagen eval: " + run.get("task") + " on " + Path.of((String) run.get("dataset")).getFileName(),
                run, summary, rows);
        return new Result(out, summary, totals, json);
    }

    static Map<String, Object> manifest(Plan plan) {
        Options o = plan.options();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", o.task());
        m.put("grader", o.grader());
        m.put("dataset", o.dataset().toAbsolutePath().normalize().toString());
        m.put("problems", plan.problems().size());
        m.put("model", o.model());
        List<Map<String, Object>> strategies = new ArrayList<>();
        for (StrategyEntry s : plan.strategies()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", s.label());
            e.put("knob", s.knob());
            e.put("spec", s.spec());
            strategies.add(e);
        }
        m.put("strategies", strategies);
        m.put("budgets", o.budgets());
        m.put("seed", o.seed());
        m.put("max_tokens", o.params().maxTokens());
        m.put("temperature", o.params().temperature());
        m.put("top_k", o.params().topK());
        m.put("top_p", o.params().topP());
        return m;
    }

    /** Refuses a resume whose settings differ from the recorded ones; writes them when there are none yet (and {@code write}). */
    private static void checkManifest(Path file, Map<String, Object> run, boolean write) {
        try {
            JsonNode now = JSON.readTree(JSON.writeValueAsString(run)); // numbers as read back from the file
            if (Files.exists(file)) {
                JsonNode before = JSON.readTree(file.toFile());
                for (var it = now.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (!now.get(k).equals(before.get(k))) {
                        throw new MetagenException("cannot resume: '" + k + "' differs from the run in " + file.getParent()
                                + " (was " + before.get(k) + ", now " + now.get(k) + ")");
                    }
                }
            } else if (write) {
                Files.writeString(file, JSON.writeValueAsString(now));
            }
        } catch (IOException e) {
            throw new MetagenException("cannot read or write " + file + ": " + MetagenException.describe(e));
        }
    }
}
