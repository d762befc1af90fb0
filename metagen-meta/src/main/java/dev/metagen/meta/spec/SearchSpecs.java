package dev.metagen.meta.spec;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.Scorer;
import dev.metagen.meta.search.BestFirstSearch;
import dev.metagen.meta.search.Dvts;
import dev.metagen.meta.search.MonteCarloTreeSearch;
import dev.metagen.meta.search.StepBeamSearch;
import dev.metagen.meta.search.StepConfig;
import dev.metagen.meta.search.TreeOfThoughts;

import com.google.re2j.Pattern;

/** Spec types of the step-level search strategies: {@code step_beam_search}, {@code best_first}, {@code tot}, {@code mcts}, {@code dvts}. */
final class SearchSpecs {
    private SearchSpecs() {
    }

    static StepConfig steps(SpecNode n) {
        String fin = n.has("final_pattern") ? n.string("final_pattern") : null;
        Pattern p = fin == null ? null : CompositionSpecs.regex(n, "final_pattern", fin);
        String delimiter = n.string("delimiter", "\n");
        if (delimiter.isEmpty()) {
            throw new StrategySpecException(n.path("delimiter"), "must not be empty");
        }
        return new StepConfig(delimiter, n.integer("step_max_tokens", 32, 1), n.integer("max_steps", 8, 1), p);
    }

    static void register(StrategySpecs specs) {
        specs.registerStrategy("step_beam_search", n -> new StepBeamSearch(specs.generator(n.requireChild("inner")),
                specs.scorer(n.requireChild("scorer")), steps(n), n.integer("beam_width", 2, 1), n.integer("expand", 2, 1)));
        specs.registerStrategy("best_first", n -> new BestFirstSearch(specs.generator(n.requireChild("inner")),
                specs.scorer(n.requireChild("scorer")), steps(n), n.integer("expand", 2, 1), n.integer("max_expansions", 8, 1)));
        specs.registerStrategy("dvts", n -> {
            int total = n.integer("n", 4, 1);
            int width = n.integer("width", 2, 1);
            if (total < width) {
                throw new StrategySpecException(n.path("n"), "must be >= width (" + width + "), got " + total);
            }
            return new Dvts(specs.generator(n.requireChild("inner")), specs.scorer(n.requireChild("scorer")), steps(n), total, width);
        });
        specs.registerStrategy("mcts", n -> new MonteCarloTreeSearch(specs.generator(n.requireChild("inner")),
                specs.scorer(n.requireChild("scorer")), steps(n), n.integer("iterations", 8, 1), n.integer("width", 2, 1),
                n.number("c_puct", 1.0, 0, 1e6), n.bool("rollouts", false)));
        specs.registerStrategy("tot", n -> {
            var inner = specs.generator(n.requireChild("inner"));
            String mode = n.string("mode", "bfs");
            TreeOfThoughts.Mode m = switch (mode) {
                case "bfs" -> TreeOfThoughts.Mode.BFS;
                case "dfs" -> TreeOfThoughts.Mode.DFS;
                default -> throw new StrategySpecException(n.path("mode"), "unknown mode '" + mode + "' (known: bfs, dfs)");
            };
            Scorer value = null;
            TreeOfThoughts.Voter voter = null;
            SpecNode v = n.child("value");
            SpecNode vote = n.child("vote");
            if ((v == null) == (vote == null)) {
                throw new StrategySpecException(n.path(), "give exactly one evaluator: \"value\" (a scorer) or \"vote\"");
            }
            if (v != null) {
                value = specs.scorer(v);
            } else {
                voter = new TreeOfThoughts.Voter(specs.generator(vote.requireChild("judge")),
                        vote.string("template", TreeOfThoughts.Voter.DEFAULT_TEMPLATE), vote.integer("votes", 3, 1),
                        new GenerationParams(vote.integer("max_tokens", 4, 1), vote.number("temperature", 0.7, 0, 100), 0, 1.0, 0, true, java.util.List.of()));
                vote.requireAllUsed();
            }
            return new TreeOfThoughts(inner, value, voter, steps(n), m, n.integer("k", 2, 1), n.integer("breadth", 2, 1),
                    n.number("threshold", Double.NEGATIVE_INFINITY, -Double.MAX_VALUE, Double.MAX_VALUE), n.integer("max_nodes", 32, 1));
        });
    }
}
