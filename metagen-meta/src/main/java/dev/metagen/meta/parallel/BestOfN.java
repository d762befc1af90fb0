package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Best-of-N (rejection sampling with a reward model; Nakano et al., 2021; Welleck et al., 2024, section 4.2.1):
 * N samples drawn concurrently, the one with the highest score is returned (the lowest index on ties).
 *
 * <p>Example:
 * <pre>{@code
 * MetaGenerator best = new BestOfN(sampler, 4, LogprobScorer.mean());
 * Generation g = best.generate(Prompt.of("Once upon a time"), GenerationParams.of(24, new SamplingConfig()));
 * // the most likely of 4 samples per token; g.cost() holds all four
 * }</pre>
 */
public final class BestOfN extends MetaGenerator {
    private final Generator inner;
    private final int n;
    private final Scorer scorer;

    /**
     * Best-of-{@code n} over {@code inner}.
     *
     * @param inner the sampled generator
     * @param n the number of samples
     * @param scorer ranks them
     */
    public BestOfN(Generator inner, int n, Scorer scorer) {
        if (n < 1) {
            throw new MetagenException("best_of_n: n must be >= 1, got " + n);
        }
        this.inner = inner;
        this.n = n;
        this.scorer = scorer;
    }

    @Override
    public String name() {
        return "best_of_n";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Sampling.Sample> samples = Sampling.sample(scope, inner, prompt, params, 0, n);
        List<Map<String, Object>> rows = Sampling.rows(samples);
        Generation best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        int bestIndex = -1;
        for (int i = 0; i < samples.size(); i++) {
            Generation g = samples.get(i).generation();
            double s = scope.score(scorer, prompt, g);
            rows.get(i).put("score", s);
            if (best == null || s > bestScore) {
                best = g;
                bestScore = s;
                bestIndex = samples.get(i).index();
            }
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("n", n);
        trace.put("chosen", bestIndex);
        trace.put("chosen_score", bestScore);
        trace.put("candidates", rows);
        return result(scope, best, trace);
    }
}
