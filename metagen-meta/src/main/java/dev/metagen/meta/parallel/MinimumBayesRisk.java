package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.score.Utility;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimum Bayes risk selection (Bertsch et al., 2023, "It's MBR all the way down"): among N samples, return the
 * one with the highest mean utility against the others, the samples standing in for the model's distribution.
 */
public final class MinimumBayesRisk extends MetaGenerator {
    private final Generator inner;
    private final int n;
    private final Utility utility;

    /**
     * MBR over {@code n} samples of {@code inner}.
     *
     * @param inner the sampled generator
     * @param n the number of samples
     * @param utility the similarity of two samples
     */
    public MinimumBayesRisk(Generator inner, int n, Utility utility) {
        if (n < 1) {
            throw new MetagenException("mbr: n must be >= 1, got " + n);
        }
        this.inner = inner;
        this.n = n;
        this.utility = utility;
    }

    @Override
    public String name() {
        return "mbr";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Sampling.Sample> samples = Sampling.sample(scope, inner, prompt, params, 0, n);
        List<Map<String, Object>> rows = Sampling.rows(samples);
        int m = samples.size();
        int best = -1;
        double bestUtility = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < m; i++) {
            double sum = 0;
            for (int j = 0; j < m; j++) {
                if (i != j) {
                    sum += utility.similarity(samples.get(i).generation().text(), samples.get(j).generation().text());
                }
            }
            double expected = m > 1 ? sum / (m - 1) : 0;
            rows.get(i).put("expected_utility", expected);
            if (expected > bestUtility) {
                bestUtility = expected;
                best = i;
            }
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("n", n);
        trace.put("candidates", rows);
        trace.put("chosen", best < 0 ? -1 : samples.get(best).index());
        return result(scope, best < 0 ? null : samples.get(best).generation(), trace);
    }
}
