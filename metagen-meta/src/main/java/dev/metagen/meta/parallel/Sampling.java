package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Shared steps of the parallel strategies: N concurrent samples with derived seeds, and their trace rows. */
final class Sampling {
    private Sampling() {
    }

    /** One sample: its index (which fixes its seed) and the generation. */
    record Sample(int index, Generation generation) {
    }

    /** Samples {@code n} candidates concurrently; those stopped by the budget are missing from the list. */
    static List<Sample> sample(Scope scope, Generator inner, Prompt prompt, GenerationParams params, int from, int n) {
        return scope.parallel(n, i -> new Sample(from + i, scope.call(inner, prompt, Seeds.params(params, from + i))));
    }

    static Map<String, Object> row(Sample s) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("index", s.index());
        r.put("text", s.generation().text());
        r.put("generated_tokens", s.generation().cost().generatedTokens());
        return r;
    }

    static List<Map<String, Object>> rows(List<Sample> samples) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Sample s : samples) {
            out.add(row(s));
        }
        return out;
    }
}
