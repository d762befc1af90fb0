package dev.metagen.spark;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.testing.SharedData;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.spec.StrategySpecs;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Dataset API in local[2]: every row's output equals the strategy run directly with the row's seed. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetagenSparkTest {
    static final String SPEC = "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}";
    SparkSession spark;
    ClusterRunner.Models models;

    @BeforeAll
    void start() {
        models = new ClusterRunner.Models(SharedData.stories260k().toString(), Map.of(), "pure-java", 1, 256);
        spark = SparkSession.builder().master("local[2]").appName("metagen-test").config("spark.ui.enabled", "false").getOrCreate();
    }

    @AfterAll
    void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    Dataset<Row> prompts() {
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);
        return spark.createDataFrame(List.of(RowFactory.create(1, "Once upon a time"), RowFactory.create(2, "The little dog"),
                RowFactory.create(3, "Lily and Ben"), RowFactory.create(4, "Once upon a time")), schema).repartition(2);
    }

    @Test
    void everyRowGetsTheStrategysOutputCostAndTraceSeededByItsPrompt() {
        MetagenSpark.Options o = new MetagenSpark.Options(10, 1.0, 0, 1.0, List.of(), 5, null);
        List<Row> rows = MetagenSpark.generate(prompts(), "prompt", SPEC, models, o).orderBy("id").collectAsList();
        assertEquals(4, rows.size());
        StrategySpecs.Strategy direct = new StrategySpecs(WorkerModels.leaves(models)).parse(SPEC);
        for (Row r : rows) {
            String prompt = r.getAs("prompt");
            GenerationParams p = new GenerationParams(10, 1.0, 0, 1.0, Seeds.derive(5, MetagenSpark.promptHash(prompt)), true, List.of());
            Generation g = ((MetaGenerator) direct.generator()).generate(Prompt.of(prompt), p, direct.budget(), new Cancellation());
            assertEquals(g.text(), r.getAs("output"), prompt);
            Row cost = r.getAs("cost");
            assertEquals(g.cost().generatedTokens(), (long) cost.getAs("generated_tokens"));
            assertEquals(g.cost().modelCalls(), (long) cost.getAs("model_calls"));
            assertTrue(((String) r.getAs("trace")).contains("\"strategy\":\"best_of_n\""));
        }
        assertEquals(rows.get(0).<String>getAs("output"), rows.get(3).getAs("output")); // same prompt, same seed
    }

    @Test
    void badColumnsAndSpecsAreRefusedOnTheDriver() {
        var o = MetagenSpark.Options.DEFAULTS;
        assertTrue(assertThrows(MetagenException.class, () -> MetagenSpark.generate(prompts(), "text", SPEC, models, o))
                .getMessage().contains("no prompt column 'text'"));
        assertTrue(assertThrows(MetagenException.class, () -> MetagenSpark.generate(prompts(), "id", SPEC, models, o))
                .getMessage().contains("'id' is int, not string"));
        assertTrue(assertThrows(MetagenException.class, () -> MetagenSpark.generate(prompts(), "prompt",
                "{\"type\":\"best_of_n\",\"inner\":{\"type\":\"sample\",\"model\":\"judge\"}}", models, o)).getMessage().contains("judge"));
    }
}
