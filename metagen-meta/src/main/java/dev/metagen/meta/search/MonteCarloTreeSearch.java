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

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Monte Carlo tree search over steps with PUCT selection (Silver et al., 2017; for LLM reasoning e.g. Hao et al., 2023,
 * RAP): select by Q + c * P * sqrt(N) / (1 + n), expand a leaf with {@code width} sampled steps whose priors are the
 * softmax of their mean token log-probabilities, value each new child by the scorer on its path or on a rollout that
 * completes it, and back the value up to the root. The answer follows the most visited children from the root.
 * Invariant (checked by tests): every expanded non-root node has visits = 1 + the sum of its children's visits.
 *
 * <p>Example:
 * <pre>{@code
 * MetaGenerator mcts = new MonteCarloTreeSearch(sampler, prm, StepConfig.lines(12, 3), 6, 2, 1.0, false);
 * Generation g = mcts.generate(Prompt.of("Once upon a time"), GenerationParams.of(48, new SamplingConfig()));
 * // 6 iterations of select, expand (2 sampled steps), value (prm) and back-up
 * }</pre>
 */
public final class MonteCarloTreeSearch extends MetaGenerator {
    private final Generator inner;
    private final Scorer scorer;
    private final StepConfig steps;
    private final int iterations;
    private final int width;
    private final double cPuct;
    private final boolean rollouts;

    /**
     * MCTS over {@code inner}'s steps.
     *
     * @param inner samples the steps
     * @param scorer values a path
     * @param steps how paths split into steps
     * @param iterations selection-expansion-backup rounds
     * @param width children per expansion
     * @param cPuct the exploration constant c
     * @param rollouts whether a new child is valued on a rollout that completes it
     */
    public MonteCarloTreeSearch(Generator inner, Scorer scorer, StepConfig steps, int iterations, int width, double cPuct, boolean rollouts) {
        if (iterations < 1 || width < 1 || !(cPuct >= 0)) {
            throw new MetagenException("mcts: iterations and width must be >= 1 and c_puct >= 0, got "
                    + iterations + ", " + width + ", " + cPuct);
        }
        this.inner = inner;
        this.scorer = scorer;
        this.steps = steps;
        this.iterations = iterations;
        this.width = width;
        this.cPuct = cPuct;
        this.rollouts = rollouts;
    }

    @Override
    public String name() {
        return "mcts";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        Tree tree = new Tree(inner, scorer, steps, prompt, params);
        int done = 0;
        try {
            for (; done < iterations; done++) {
                scope.checkpoint(); // iterations that reach a terminal node start no call: check here too
                Node leaf = select(tree.root);
                if (leaf.terminal) {
                    backup(leaf, leaf.score);
                    continue;
                }
                List<Node> children = tree.expand(scope, leaf, width);
                setPriors(children);
                List<Double> values = rollouts
                        ? scope.parallel(children.size(), i -> rolloutValue(scope, tree, children.get(i)))
                        : children.stream().map(c -> c.score).toList();
                if (values.size() < children.size()) {
                    break; // the budget stopped a rollout
                }
                for (int i = 0; i < children.size(); i++) {
                    backup(children.get(i), values.get(i));
                }
            }
        } catch (Stopped s) {
            // keep what was explored
        }
        Node answer = tree.root;
        while (!answer.children.isEmpty()) {
            Node best = null;
            for (Node c : answer.children) {
                if (best == null || c.visits > best.visits || (c.visits == best.visits && c.meanValue() > best.meanValue())) {
                    best = c;
                }
            }
            answer = best;
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("iterations", done);
        trace.put("tree", tree.toTrace());
        if (answer == tree.root) {
            return result(scope, null, trace);
        }
        trace.put("chosen_node", answer.id);
        trace.put("chosen_value", answer.meanValue());
        Generation g = answer.completion != null ? answer.completion : answer.asGeneration();
        return result(scope, g, trace);
    }

    private Node select(Node n) {
        while (!n.children.isEmpty() && !n.terminal) {
            Node best = null;
            double bestU = Double.NEGATIVE_INFINITY;
            double sqrtN = Math.sqrt(Math.max(1, n.visits));
            for (Node c : n.children) {
                double u = c.meanValue() + cPuct * c.prior * sqrtN / (1 + c.visits);
                if (u > bestU) {
                    bestU = u;
                    best = c;
                }
            }
            n = best;
        }
        return n;
    }

    /** Priors: softmax over siblings of the mean log-probability of each child's new step. */
    private static void setPriors(List<Node> children) {
        double[] x = new double[children.size()];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < x.length; i++) {
            Node c = children.get(i);
            int k = c.tokens.length - c.parent.tokens.length;
            double s = 0;
            for (int t = c.parent.tokens.length; t < c.tokens.length; t++) {
                s += c.logprobs[t];
            }
            x[i] = k == 0 ? 0 : s / k;
            max = Math.max(max, x[i]);
        }
        double z = 0;
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.exp(x[i] - max);
            z += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            children.get(i).prior = x[i] / z;
        }
    }

    private static double rolloutValue(Scope scope, Tree tree, Node child) {
        if (child.terminal) {
            return child.score;
        }
        Generation g = tree.rollout(scope, child, 0);
        child.completion = g;
        return tree.score(scope, g);
    }

    private static void backup(Node n, double value) {
        for (Node a = n; a != null; a = a.parent) {
            a.visits++;
            a.valueSum += value;
        }
    }
}
