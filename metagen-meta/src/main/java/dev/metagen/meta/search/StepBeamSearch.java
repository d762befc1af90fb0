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
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Step-level beam search with a process reward model (Snell et al., 2024; Beeching et al., 2024, "Scaling test-time
 * compute"): each of the {@code beamWidth} open paths is extended by {@code expand} sampled steps, all new paths are
 * scored, and the {@code beamWidth} best open ones go on; complete paths are set aside. Returns the best-scoring
 * complete path (or open path, when none completed).
 *
 * <p>Example:
 * <pre>{@code
 * StepConfig lines = StepConfig.lines(12, 3);                    // a step is a line of at most 12 tokens
 * MetaGenerator search = new StepBeamSearch(sampler, prm, lines, 2, 2);   // beam width 2, 2 steps per path
 * Generation g = search.generate(Prompt.of("Once upon a time"), GenerationParams.of(48, new SamplingConfig()));
 * }</pre>
 */
public final class StepBeamSearch extends MetaGenerator {
    private final Generator inner;
    private final Scorer scorer;
    private final StepConfig steps;
    private final int beamWidth;
    private final int expand;

    /**
     * Step-level beam search over {@code inner}'s steps.
     *
     * @param inner samples the steps
     * @param scorer the process reward model
     * @param steps how paths split into steps
     * @param beamWidth open paths kept per step
     * @param expand steps sampled per open path
     */
    public StepBeamSearch(Generator inner, Scorer scorer, StepConfig steps, int beamWidth, int expand) {
        if (beamWidth < 1 || expand < 1) {
            throw new MetagenException("step_beam_search: beam_width and expand must be >= 1, got " + beamWidth + " and " + expand);
        }
        this.inner = inner;
        this.scorer = scorer;
        this.steps = steps;
        this.beamWidth = beamWidth;
        this.expand = expand;
    }

    @Override
    public String name() {
        return "step_beam_search";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        Tree tree = new Tree(inner, scorer, steps, prompt, params);
        Map<String, Object> trace = new LinkedHashMap<>();
        List<List<Integer>> beams = new ArrayList<>();
        try {
            beamSearch(scope, tree, List.of(tree.root), beamWidth, expand, beams);
        } catch (Stopped s) {
            // keep what was explored; result() reports the stop
        }
        trace.put("beams", beams);
        trace.put("tree", tree.toTrace());
        Node best = SearchResult.best(tree.nodes());
        if (best != null) {
            trace.put("chosen_node", best.id);
            trace.put("chosen_score", best.score);
        }
        return result(scope, best == null ? null : best.asGeneration(), trace);
    }

    private record Expansion(Node parent, List<Tree.Step> steps) {
    }

    /** Runs beam search from {@code start}; records the ids of each round's beam. Shared with DVTS. */
    static void beamSearch(Scope scope, Tree tree, List<Node> start, int width, int expand, List<List<Integer>> beams) {
        List<Node> beam = new ArrayList<>(start);
        while (!beam.isEmpty()) {
            scope.checkpoint(); // a cancellation or spent budget ends the search between steps
            List<Node> children = new ArrayList<>();
            // generate concurrently, then add nodes in beam order so ids and tie-breaks are reproducible
            List<Expansion> perParent = scope.parallel(beam.size(), i -> new Expansion(beam.get(i), tree.steps(scope, beam.get(i), expand)));
            for (Expansion e : perParent) {
                children.addAll(tree.addChildren(scope, e.parent(), e.steps()));
            }
            if (perParent.size() < beam.size() || children.size() < beam.size() * expand) {
                return; // the budget stopped an expansion
            }
            List<Node> open = new ArrayList<>();
            for (Node c : children) {
                if (!c.terminal) {
                    open.add(c);
                }
            }
            // highest score first; ties keep generation order (stable sort)
            open.sort(Comparator.comparingDouble((Node n) -> n.score).reversed());
            beam.clear();
            beam.addAll(open.subList(0, Math.min(width, open.size())));
            List<Integer> ids = new ArrayList<>();
            for (Node n : beam) {
                ids.add(n.id);
            }
            beams.add(ids);
        }
    }
}
