package dev.metagen.eval.sweep;

import dev.metagen.core.GenerationParams;
import dev.metagen.eval.task.Problem;
import dev.metagen.eval.task.Task;
import dev.metagen.meta.tools.Sandbox;

import java.util.List;

/**
 * What a sweep runs.
 *
 * @param params the settings of every top-level call (max tokens, temperature ...); the seed is replaced per problem
 * @param seed     the sweep's seed: problem {@code i} runs with {@code Seeds.derive(seed, i)}
 * @param parallel problems run at once (1: one after the other)
 * @param reuse    serve smaller budgets from the samples of larger ones ({@link SampleCache}); off only to measure it
 * @param sandbox  the operator's limits on the code tools of the strategies, which their specs may only lower
 */
public record SweepConfig(Task task, List<Problem> problems, List<StrategyEntry> strategies, List<Integer> budgets,
                          GenerationParams params, long seed, int parallel,
                          boolean reuse, Sandbox.Limits sandbox) {
    /** A sweep whose code tools run within {@link Sandbox.Limits#DEFAULT}. */
    public SweepConfig(Task task, List<Problem> problems, List<StrategyEntry> strategies, List<Integer> budgets,
                       GenerationParams params, long seed, int parallel, boolean reuse) {
        this(task, problems, strategies, budgets, params, seed, parallel, reuse, Sandbox.Limits.DEFAULT);
    }

    public SweepConfig {
        problems = List.copyOf(problems);
        strategies = List.copyOf(strategies);
        budgets = List.copyOf(budgets);
    }
}
