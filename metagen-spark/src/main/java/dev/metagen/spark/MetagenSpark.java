package dev.metagen.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelRegistry;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Meta-generation over a Spark {@link Dataset}: every row's prompt goes through a strategy (any spec of
 * {@link StrategySpecs}) on the executors, each of which loads its models once ({@link WorkerModels}) and keeps them
 * for every partition; the result has the input's columns plus {@code output}, {@code cost} (prompt and generated
 * tokens, model and tool calls, wall milliseconds) and {@code trace} (the strategy's trace as JSON).
 *
 * <pre>{@code
 * Dataset<Row> prompts = spark.read().json("prompts.jsonl");          // a column "prompt"
 * var models = new ClusterRunner.Models("/models/qwen2.5-0.5b-q8_0.gguf", Map.of(), "pure-java", 0, 0);
 * Dataset<Row> out = MetagenSpark.generate(prompts, "prompt",
 *         "{\"type\":\"majority_vote\",\"n\":8,\"inner\":{\"type\":\"sample\"}}", models, MetagenSpark.Options.DEFAULTS);
 * out.write().parquet("answers.parquet");
 * }</pre>
 *
 * A row's seed is derived from {@link Options#seed} and its prompt's text (or from a long {@link Options#seedColumn}),
 * never from its position, so a partition that Spark recomputes gives the same outputs.
 */
public final class MetagenSpark {
    private MetagenSpark() {
    }

    /**
     * The settings of every top-level call.
     *
     * @param seedColumn a long column holding each row's seed, or null to derive it from the prompt
     */
    public record Options(int maxTokens, double temperature, int topK, double topP, List<String> stop, long seed,
                          String seedColumn) implements Serializable {
        public static final Options DEFAULTS = new Options(64, 0.8, 40, 0.95, List.of(), 0, null);

        public Options {
            stop = List.copyOf(stop);
            new GenerationParams(maxTokens, temperature, topK, topP, seed, true, stop); // checks the values now
        }

        GenerationParams params(long rowSeed) {
            return new GenerationParams(maxTokens, temperature, topK, topP, rowSeed, true, stop);
        }
    }

    static final StructType COST = new StructType()
            .add("prompt_tokens", DataTypes.LongType).add("generated_tokens", DataTypes.LongType)
            .add("model_calls", DataTypes.LongType).add("tool_calls", DataTypes.LongType).add("wall_ms", DataTypes.DoubleType);

    /**
     * The rows of {@code df} with {@code output}, {@code cost} and {@code trace} added. The spec and the model names it
     * uses are checked here, on the driver, before any executor loads a model.
     */
    public static Dataset<Row> generate(Dataset<Row> df, String promptColumn, String strategySpec, ClusterRunner.Models models,
                                        Options options) {
        StructType in = df.schema();
        int prompt = column(in, promptColumn, DataTypes.StringType, "prompt column");
        int seed = options.seedColumn() == null ? -1 : column(in, options.seedColumn(), DataTypes.LongType, "seed column");
        for (String added : List.of("output", "cost", "trace")) {
            if (List.of(in.fieldNames()).contains(added)) {
                throw new MetagenException("the dataset already has a column '" + added + "', which generate adds");
            }
        }
        Set<String> names = new HashSet<>(models.named().keySet());
        names.add(ModelRegistry.DEFAULT);
        LeafGenerators.validator(Sandbox.Limits.DEFAULT, names, ModelRegistry.remoteNames(models.named())).parse(strategySpec);
        StructType out = in.add("output", DataTypes.StringType).add("cost", COST).add("trace", DataTypes.StringType);
        return df.mapPartitions(new GeneratePartition(prompt, seed, strategySpec, models, options), Encoders.row(out));
    }

    private static int column(StructType schema, String name, DataType type, String what) {
        if (!List.of(schema.fieldNames()).contains(name)) {
            throw new MetagenException("no " + what + " '" + name + "' (columns: " + String.join(", ", schema.fieldNames()) + ")");
        }
        int i = schema.fieldIndex(name);
        if (!schema.fields()[i].dataType().equals(type)) {
            throw new MetagenException(what + " '" + name + "' is " + schema.fields()[i].dataType().simpleString()
                    + ", not " + type.simpleString());
        }
        return i;
    }

    /** A stable 64-bit hash of a prompt (FNV-1a over its UTF-8 bytes): the same prompt gets the same seed anywhere. */
    static long promptHash(String prompt) {
        long h = 0xcbf29ce484222325L;
        for (byte b : prompt.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    /** The executor side: one strategy per partition, over this JVM's models. */
    private record GeneratePartition(int prompt, int seed, String spec, ClusterRunner.Models models, Options options)
            implements MapPartitionsFunction<Row, Row> {
        private static final ObjectMapper JSON = new ObjectMapper();

        @Override
        public Iterator<Row> call(Iterator<Row> rows) throws Exception {
            StrategySpecs.Strategy strategy = new StrategySpecs(WorkerModels.leaves(models)).parse(spec);
            List<Row> out = new ArrayList<>();
            while (rows.hasNext()) {
                Row row = rows.next();
                String text = row.getString(prompt);
                if (text == null) {
                    throw new MetagenException("a row has no prompt (null)");
                }
                long s = seed >= 0 && !row.isNullAt(seed) ? row.getLong(seed) : Seeds.derive(options.seed(), promptHash(text));
                GenerationParams params = options.params(s);
                Generation g = strategy.generate(Prompt.of(text), params, new Cancellation());
                Object[] values = new Object[row.size() + 3];
                for (int i = 0; i < row.size(); i++) {
                    values[i] = row.get(i);
                }
                values[row.size()] = g.text();
                values[row.size() + 1] = RowFactory.create(g.cost().promptTokens(), g.cost().generatedTokens(),
                        g.cost().modelCalls(), g.cost().toolCalls(), g.cost().wall().toNanos() / 1e6);
                values[row.size() + 2] = JSON.writeValueAsString(g.trace());
                out.add(RowFactory.create(values));
            }
            return out.iterator();
        }
    }
}
