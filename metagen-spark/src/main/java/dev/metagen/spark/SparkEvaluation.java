package dev.metagen.spark;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Cost;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.eval.Evaluation;
import dev.metagen.eval.store.ResultStore;
import dev.metagen.eval.sweep.StrategyEntry;
import dev.metagen.eval.sweep.Sweep;
import dev.metagen.eval.sweep.SweepConfig;
import dev.metagen.eval.sweep.SweepListener;
import dev.metagen.eval.task.Problem;
import dev.metagen.eval.task.Tasks;
import dev.metagen.meta.tools.Sandbox;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an evaluation sweep on Apache Spark: problems are partitioned, each executor builds its models once
 * ({@link WorkerModels}) and runs its problems with {@link Sweep#runProblem}, and the driver appends each partition's
 * rows to {@code results.jsonl} as soon as that partition finishes, so a killed driver resumes ({@code --resume}) from
 * the partitions it had received. Problem {@code i} is seeded from the sweep's seed and {@code i} wherever it runs,
 * so a partition that Spark recomputes after losing an executor gives the same rows, and the whole output equals a
 * local run's, row for row (only the order of lines and the wall times differ). The output folder, report and
 * summary are the local run's ({@link Evaluation#run(Evaluation.Plan, Evaluation.SweepRunner)}); the results are
 * also written as Parquet ({@code results.parquet}).
 */
public final class SparkEvaluation implements ClusterRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "spark";
    }

    @Override
    public Evaluation.Result run(Evaluation.Plan plan, Models models, String master, SweepListener listener) {
        SparkSession.Builder b = SparkSession.builder().appName("metagen eval " + plan.options().task());
        if (!"default".equals(master)) {
            b.master(master);
        }
        SparkSession spark = b.getOrCreate();
        try {
            return run(plan, models, spark, 0, listener);
        } finally {
            spark.stop();
        }
    }

    /**
     * Runs the plan on {@code spark}'s cluster.
     *
     * @param partitions problems are split into this many partitions (0: four per core of the cluster, at most one
     *                   per problem); a partition is the unit of recomputation and of resume
     */
    public static Evaluation.Result run(Evaluation.Plan plan, Models models, SparkSession spark, int partitions,
                                        SweepListener listener) {
        Job job = Job.of(plan, models);
        Evaluation.Result result = Evaluation.run(plan, (config, store) -> sweep(spark, job, config, store, partitions, listener));
        writeParquet(spark, result.out());
        return result;
    }

    /** What every executor needs to run any problem of the sweep: plain values, rebuilt into a config there. */
    record Job(String task, String grader, List<String> strategies, List<Integer> budgets, List<Problem> problems,
               int maxTokens, double temperature, int topK, double topP, List<String> stop, long seed, boolean reuse,
               long sandboxWallMs, long sandboxMemoryBytes, int sandboxCpuSeconds, int sandboxOutputBytes,
               int sandboxProcesses, long sandboxFileBytes, Models models) implements Serializable {
        static Job of(Evaluation.Plan plan, Models models) {
            Evaluation.Options o = plan.options();
            GenerationParams p = o.params();
            Job job = new Job(o.task(), o.grader(), List.copyOf(o.strategies()), List.copyOf(o.budgets()),
                    new ArrayList<>(plan.problems()), p.maxTokens(), p.temperature(), p.topK(), p.topP(),
                    List.copyOf(p.stop()), o.seed(), o.reuse(), o.sandbox().wall().toMillis(), o.sandbox().memoryBytes(),
                    o.sandbox().cpuSeconds(), o.sandbox().maxOutputBytes(), o.sandbox().processes(), o.sandbox().fileBytes(), models);
            if (!job.params().equals(p.withSampling(p.temperature(), p.topK(), p.topP(), job.params().seed()))) {
                throw new MetagenException("a Spark sweep ships max_tokens, temperature, top_k, top_p and stop to its "
                        + "workers; the evaluation's parameters set more (run it locally)");
            }
            return job;
        }

        GenerationParams params() {
            return new GenerationParams(maxTokens, temperature, topK, topP, seed, true, stop);
        }

        Sandbox.Limits sandbox() {
            return new Sandbox.Limits(Duration.ofMillis(sandboxWallMs), sandboxMemoryBytes, sandboxCpuSeconds,
                    sandboxOutputBytes, sandboxProcesses, sandboxFileBytes);
        }

        SweepConfig config() {
            List<StrategyEntry> entries = new ArrayList<>();
            for (String s : strategies) {
                entries.add(StrategyEntry.parse(s));
            }
            return new SweepConfig(Tasks.byName(task, grader, sandbox()), problems, entries, budgets, params(), seed, 1,
                    reuse, sandbox());
        }
    }

    /** One finished run as it travels back to the driver: its row as JSON and the costs reported and computed. */
    record Finished(String row, long[] reported, long[] spent) implements Serializable {
        static long[] of(Cost c) {
            return new long[]{c.promptTokens(), c.generatedTokens(), c.modelCalls(), c.toolCalls(), c.wall().toNanos()};
        }

        static Cost cost(long[] v) {
            return new Cost(v[0], v[1], v[2], v[3], Duration.ofNanos(v[4]));
        }
    }

    private static Sweep.Totals sweep(SparkSession spark, Job job, SweepConfig config, ResultStore store, int partitions,
                                      SweepListener listener) {
        List<Integer> pending = new ArrayList<>();
        Set<String> done = new HashSet<>(store.done().keySet());
        for (int i = 0; i < config.problems().size(); i++) {
            if (Sweep.pending(config, i, store::isDone)) {
                pending.add(i);
            }
        }
        Sweep.Units units = Sweep.units(config, store::isDone);
        long already = units.done();
        listener.started(config.problems().size(), units.total(), already);
        Totals totals = new Totals();
        if (pending.isEmpty()) {
            return totals.toSweep(already);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int n = partitions > 0 ? partitions : Math.max(1, jsc.defaultParallelism() * 4);
        n = Math.min(n, pending.size());
        Broadcast<Job> shipped = jsc.broadcast(job);
        Broadcast<Set<String>> recorded = jsc.broadcast(done);
        JavaRDD<Integer> problems = jsc.parallelize(pending, n);
        // the driver receives each partition's rows as soon as it finishes and makes them durable at once
        spark.sparkContext().runJob(problems.rdd(), new RunProblems(shipped, recorded), new AbstractFunction2<Object, List<Finished>, BoxedUnit>() {
            @Override
            public BoxedUnit apply(Object partition, List<Finished> rows) {
                synchronized (totals) {
                    Set<Object> problems = new HashSet<>();
                    for (Finished f : rows) {
                        Map<String, Object> row = parse(f.row());
                        problems.add(row.get("problem"));
                        store.append(row);
                        totals.runs++;
                        totals.reported = totals.reported.plus(Finished.cost(f.reported()));
                        totals.spent = totals.spent.plus(Finished.cost(f.spent()));
                        listener.finished(row, (int) totals.problems, totals.spent.generatedTokens());
                    }
                    totals.problems += problems.size();
                }
                return BoxedUnit.UNIT;
            }
        }, scala.reflect.ClassTag$.MODULE$.apply(List.class));
        return totals.toSweep(already);
    }

    private static final class Totals {
        long runs;
        long problems;
        Cost reported = Cost.ZERO;
        Cost spent = Cost.ZERO;

        Sweep.Totals toSweep(long skipped) {
            return new Sweep.Totals(runs, skipped, reported, spent);
        }
    }

    /** The executor side: runs the partition's problems on this JVM's models. */
    private static final class RunProblems extends AbstractFunction1<scala.collection.Iterator<Integer>, List<Finished>>
            implements Serializable {
        private final Broadcast<Job> job;
        private final Broadcast<Set<String>> done;

        RunProblems(Broadcast<Job> job, Broadcast<Set<String>> done) {
            this.job = job;
            this.done = done;
        }

        @Override
        public List<Finished> apply(scala.collection.Iterator<Integer> problems) {
            Job j = job.value();
            Set<String> recorded = done.value();
            SweepConfig config = j.config();
            var leaves = WorkerModels.leaves(j.models());
            List<Finished> out = new ArrayList<>();
            while (problems.hasNext()) {
                int i = problems.next();
                Sweep.runProblem(config, leaves, i, (p, s, b) -> recorded.contains(ResultStore.key(p, s, b)),
                        (row, reported, spent) -> out.add(new Finished(write(row), Finished.of(reported), Finished.of(spent))));
            }
            return out;
        }
    }

    private static String write(Map<String, Object> row) {
        try {
            return JSON.writeValueAsString(row);
        } catch (Exception e) {
            throw new MetagenException("cannot write a result row: " + MetagenException.describe(e));
        }
    }

    private static Map<String, Object> parse(String row) {
        try {
            return JSON.readValue(row, new TypeReference<LinkedHashMap<String, Object>>() { });
        } catch (Exception e) {
            throw new MetagenException("cannot read a result row: " + MetagenException.describe(e));
        }
    }

    /** The columns of {@code results.parquet}: the row's fields, its cost flattened, the trace as JSON text. */
    static final StructType PARQUET = new StructType()
            .add("problem", DataTypes.StringType).add("strategy", DataTypes.StringType).add("type", DataTypes.StringType)
            .add("budget", DataTypes.IntegerType).add("seed", DataTypes.LongType).add("prompt", DataTypes.StringType)
            .add("reference", DataTypes.StringType).add("answer", DataTypes.StringType).add("correct", DataTypes.BooleanType)
            .add("finish", DataTypes.StringType).add("output", DataTypes.StringType)
            .add("prompt_tokens", DataTypes.LongType).add("generated_tokens", DataTypes.LongType)
            .add("model_calls", DataTypes.LongType).add("tool_calls", DataTypes.LongType).add("wall_ms", DataTypes.DoubleType)
            .add("trace", DataTypes.StringType);

    static void writeParquet(SparkSession spark, Path out) {
        List<Row> rows = new ArrayList<>();
        for (JsonNode r : ResultStore.readAll(out.resolve("results.jsonl"))) {
            JsonNode c = r.path("cost");
            rows.add(RowFactory.create(text(r, "problem"), text(r, "strategy"), text(r, "type"), r.path("budget").asInt(),
                    r.path("seed").asLong(), text(r, "prompt"), text(r, "reference"), text(r, "answer"),
                    r.path("correct").asBoolean(), text(r, "finish"), text(r, "output"),
                    c.path("prompt_tokens").asLong(), c.path("generated_tokens").asLong(), c.path("model_calls").asLong(),
                    c.path("tool_calls").asLong(), c.path("wall_ms").asDouble(), r.has("trace") ? r.get("trace").toString() : null));
        }
        spark.createDataFrame(rows, PARQUET).coalesce(1).write().mode(SaveMode.Overwrite)
                .parquet(out.resolve("results.parquet").toAbsolutePath().toString());
    }

    private static String text(JsonNode r, String field) {
        JsonNode v = r.get(field);
        return v == null || v.isNull() ? null : v.isTextual() ? v.asText() : v.toString();
    }
}
