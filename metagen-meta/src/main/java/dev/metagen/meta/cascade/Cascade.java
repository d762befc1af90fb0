package dev.metagen.meta.cascade;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.Stopped;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.score.ScopedVerifier;
import dev.metagen.meta.score.Verifier;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model cascade (Chen et al., 2023, "FrugalGPT"): stages are tried cheapest first; a stage's answer is kept when its
 * verifier accepts it and its confidence (mean token log-probability) reaches {@code minMeanLogprob}, otherwise the
 * next stage is tried. The last stage's answer is returned whatever its checks say.
 */
public final class Cascade extends MetaGenerator {
    /**
     * One stage: a generator and its acceptance checks (null verifier: none; -infinity: no confidence check).
     *
     * @param generator the stage's generator
     * @param verifier its verifier, or null
     * @param minMeanLogprob the least mean token log-probability accepted
     */
    public record Stage(Generator generator, Verifier verifier, double minMeanLogprob) {
    }

    private final List<Stage> stages;

    /**
     * A cascade of {@code stages}, cheapest first.
     *
     * @param stages the stages (at least one)
     */
    public Cascade(List<Stage> stages) {
        if (stages.isEmpty()) {
            throw new MetagenException("cascade: needs at least one stage");
        }
        this.stages = List.copyOf(stages);
    }

    @Override
    public String name() {
        return "cascade";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Map<String, Object>> tried = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("stages", tried);
        Generation last = null;
        try {
            for (int i = 0; i < stages.size(); i++) {
                Stage s = stages.get(i);
                last = scope.call(s.generator(), prompt, Seeds.params(params, i));
                double confidence = LogprobScorer.mean().score(prompt, last);
                Verifier.Verdict v = s.verifier() == null ? null : ScopedVerifier.verify(scope, s.verifier(), prompt, last);
                boolean ok = (v == null || v.accepted()) && confidence >= s.minMeanLogprob();
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("stage", i);
                row.put("text", last.text());
                row.put("mean_logprob", confidence);
                row.put("verified", v == null ? null : v.accepted());
                row.put("feedback", v == null ? null : v.feedback());
                row.put("accepted", ok);
                row.put("generated_tokens", last.cost().generatedTokens());
                tried.add(row);
                if (ok) {
                    trace.put("chosen_stage", i);
                    return result(scope, last, trace); // a budget-cut answer finishes budget
                }
            }
        } catch (Stopped s) {
            return partial(last, s, trace);
        }
        trace.put("chosen_stage", stages.size() - 1);
        return result(scope, last, trace);
    }
}
