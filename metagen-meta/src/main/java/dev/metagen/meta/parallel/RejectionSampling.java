package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.score.ScopedVerifier;
import dev.metagen.meta.score.Verifier;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rejection sampling against a verifier (Welleck et al., 2024, section 4.2.1; as in STaR, Zelikman et al., 2022):
 * draw samples, {@code batch} at a time concurrently, until the verifier accepts one, {@code maxSamples} were drawn,
 * or the budget ends. Without an accepted sample the last one is returned with {@code accepted = false}.
 */
public final class RejectionSampling extends MetaGenerator {
    private final Generator inner;
    private final Verifier verifier;
    private final int maxSamples;
    private final int batch;

    /**
     * Rejection sampling from {@code inner}.
     *
     * @param inner the sampled generator
     * @param verifier accepts or rejects each sample
     * @param maxSamples the most samples
     * @param batch samples drawn concurrently per round
     */
    public RejectionSampling(Generator inner, Verifier verifier, int maxSamples, int batch) {
        if (maxSamples < 1 || batch < 1) {
            throw new MetagenException("rejection_sampling: max_samples and batch must be >= 1, got " + maxSamples + " and " + batch);
        }
        this.inner = inner;
        this.verifier = verifier;
        this.maxSamples = maxSamples;
        this.batch = batch;
    }

    @Override
    public String name() {
        return "rejection_sampling";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("attempts", rows);
        Generation last = null;
        int drawn = 0;
        while (drawn < maxSamples) {
            int k = Math.min(batch, maxSamples - drawn);
            List<Sampling.Sample> samples = Sampling.sample(scope, inner, prompt, params, drawn, k);
            drawn += k;
            for (Sampling.Sample s : samples) {
                Verifier.Verdict v = ScopedVerifier.verify(scope, verifier, prompt, s.generation());
                Map<String, Object> row = Sampling.row(s);
                row.put("accepted", v.accepted());
                row.put("feedback", v.feedback());
                rows.add(row);
                last = s.generation();
                if (v.accepted()) {
                    trace.put("accepted", true);
                    trace.put("samples", rows.size());
                    return result(scope, s.generation(), trace); // budget-cut candidates finish budget
                }
            }
            if (samples.size() < k) {
                break; // the budget stopped part of the batch
            }
        }
        trace.put("accepted", false);
        trace.put("samples", rows.size());
        return result(scope, last, trace);
    }
}
