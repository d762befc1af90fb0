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

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Best-first search over steps (Welleck et al., 2024, section 4.3; as in Xie et al., 2023, guided decoding): always
 * expand the open path with the highest process-reward score; the first complete path popped is the answer.
 * At most {@code maxExpansions} expansions of {@code expand} steps each.
 */
public final class BestFirstSearch extends MetaGenerator {
    private final Generator inner;
    private final Scorer scorer;
    private final StepConfig steps;
    private final int expand;
    private final int maxExpansions;

    /**
     * Best-first search over {@code inner}'s steps.
     *
     * @param inner samples the steps
     * @param scorer the process reward model
     * @param steps how paths split into steps
     * @param expand steps sampled per expansion
     * @param maxExpansions the most expansions
     */
    public BestFirstSearch(Generator inner, Scorer scorer, StepConfig steps, int expand, int maxExpansions) {
        if (expand < 1 || maxExpansions < 1) {
            throw new MetagenException("best_first: expand and max_expansions must be >= 1, got " + expand + " and " + maxExpansions);
        }
        this.inner = inner;
        this.scorer = scorer;
        this.steps = steps;
        this.expand = expand;
        this.maxExpansions = maxExpansions;
    }

    @Override
    public String name() {
        return "best_first";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        Tree tree = new Tree(inner, scorer, steps, prompt, params);
        // highest score first, then the older node
        PriorityQueue<Node> open = new PriorityQueue<>(Comparator.comparingDouble((Node n) -> n == tree.root
                ? Double.POSITIVE_INFINITY : n.score).reversed().thenComparingInt(n -> n.id));
        open.add(tree.root);
        Node found = null;
        int expansions = 0;
        try {
            while (!open.isEmpty() && found == null) {
                scope.checkpoint();
                Node n = open.poll();
                if (n.terminal) {
                    found = n;
                    break;
                }
                if (expansions == maxExpansions) {
                    break;
                }
                expansions++;
                open.addAll(tree.expand(scope, n, expand));
            }
        } catch (Stopped s) {
            // keep what was explored
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("expansions", expansions);
        trace.put("tree", tree.toTrace());
        Node best = found != null ? found : SearchResult.best(tree.nodes());
        if (best != null) {
            trace.put("chosen_node", best.id);
            trace.put("chosen_score", best.score);
        }
        return result(scope, best == null ? null : best.asGeneration(), trace);
    }
}
