package dev.metagen.meta.search;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Stopped;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Diverse verifier tree search (Beeching et al., 2024, "Scaling test-time compute with open models"): the first step is
 * sampled {@code n / width} times, and each of those roots grows an independent subtree by greedy step search
 * (beam width 1, {@code width} expansions per step), the subtrees running concurrently; the best-scoring complete
 * path over all subtrees is returned. Keeping subtrees apart preserves diversity that one shared beam would lose.
 */
public final class Dvts extends MetaGenerator {
    private final Generator inner;
    private final Scorer scorer;
    private final StepConfig steps;
    private final int n;
    private final int width;

    /**
     * DVTS over {@code inner}'s steps.
     *
     * @param inner samples the steps
     * @param scorer the process reward model
     * @param steps how paths split into steps
     * @param n the total number of first steps over all subtrees
     * @param width expansions per step in each subtree
     */
    public Dvts(Generator inner, Scorer scorer, StepConfig steps, int n, int width) {
        if (width < 1 || n < width) {
            throw new MetagenException("dvts: need width >= 1 and n >= width, got n=" + n + " width=" + width);
        }
        this.inner = inner;
        this.scorer = scorer;
        this.steps = steps;
        this.n = n;
        this.width = width;
    }

    @Override
    public String name() {
        return "dvts";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        Tree tree = new Tree(inner, scorer, steps, prompt, params);
        Map<String, Object> trace = new LinkedHashMap<>();
        int subtrees = n / width;
        List<List<List<Integer>>> beams = new ArrayList<>();
        try {
            List<Node> roots = tree.expand(scope, tree.root, subtrees);
            List<List<List<Integer>>> perTree = scope.parallel(roots.size(), i -> {
                List<List<Integer>> b = new ArrayList<>();
                if (!roots.get(i).terminal) {
                    StepBeamSearch.beamSearch(scope, tree, List.of(roots.get(i)), 1, width, b);
                }
                return b;
            });
            beams.addAll(perTree);
        } catch (Stopped s) {
            // keep what was explored
        }
        trace.put("subtrees", subtrees);
        trace.put("beams", beams);
        trace.put("tree", tree.toTrace());
        Node best = SearchResult.best(tree.nodes());
        if (best != null) {
            trace.put("chosen_node", best.id);
            trace.put("chosen_score", best.score);
        }
        return result(scope, best == null ? null : best.asGeneration(), trace);
    }
}
