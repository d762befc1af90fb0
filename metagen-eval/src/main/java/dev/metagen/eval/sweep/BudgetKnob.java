package dev.metagen.eval.sweep;

import java.util.Map;
import java.util.Optional;

/**
 * Which field of a strategy spec a sweep's budget sets: the number of samples for the parallel strategies, the
 * beam width of step-level beam search, the iterations of MCTS, the node / expansion limits of tree search and the
 * rounds of refinement. A spec may name another field with a top-level {@code "knob"}.
 */
public final class BudgetKnob {
    static final Map<String, String> DEFAULTS = Map.ofEntries(
            Map.entry("best_of_n", "n"),
            Map.entry("majority_vote", "n"),
            Map.entry("weighted_vote", "n"),
            Map.entry("mbr", "n"),
            Map.entry("usc", "n"),
            Map.entry("dvts", "n"),
            Map.entry("rejection_sampling", "max_samples"),
            Map.entry("adaptive_consistency", "max_samples"),
            Map.entry("step_beam_search", "beam_width"),
            Map.entry("best_first", "max_expansions"),
            Map.entry("mcts", "iterations"),
            Map.entry("tot", "max_nodes"),
            Map.entry("self_refine", "max_rounds"),
            Map.entry("refine", "max_rounds"));

    private BudgetKnob() {
    }

    /** The default knob of a strategy type; empty for types without one (leaves, chains, cascades). */
    public static Optional<String> defaultFor(String type) {
        return Optional.ofNullable(DEFAULTS.get(type));
    }
}
