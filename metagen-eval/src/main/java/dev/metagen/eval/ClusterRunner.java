package dev.metagen.eval;

import dev.metagen.eval.sweep.SweepListener;

import java.io.Serializable;
import java.util.Map;

/**
 * Runs an evaluation's sweep on a cluster instead of in this process: found with {@link java.util.ServiceLoader}
 * (the module {@code metagen-spark} provides one), so the harness does not depend on a cluster framework.
 */
public interface ClusterRunner {
    /** The runner's name, as {@code eval --cluster NAME} would give it ("spark"). */
    String name();

    /**
     * Runs the plan on the cluster at {@code master} (for Spark: {@code local[N]}, {@code spark://HOST:PORT}, or
     * {@code default} for what {@code spark-submit} configured) and writes the same output folder a local run writes.
     */
    Evaluation.Result run(Evaluation.Plan plan, Models models, String master, SweepListener listener);

    /**
     * Where each worker's models come from.
     *
     * @param defaultRef    the default model: a local path (resolved where the run starts), optionally
     *                      {@code llamacpp:}-prefixed
     * @param named         named models ({@code --model NAME=REF}): paths as above, or {@code http(s)} endpoints
     * @param backend       where unprefixed references run ({@code pure-java} or {@code llamacpp})
     * @param threads       threads per worker's model (0: all of the worker's cores)
     * @param contextLength context length (0: the model's)
     */
    record Models(String defaultRef, Map<String, String> named, String backend, int threads, int contextLength)
            implements Serializable {
        public Models {
            named = Map.copyOf(named);
        }
    }
}
