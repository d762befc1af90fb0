package dev.metagen.meta.search;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.Stopped;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tree of thoughts (Yao et al., 2023): thoughts (steps) are sampled {@code k} per state and evaluated either by a value
 * scorer on each state (an LM value prompt is an {@code LmJudgeScorer}) or by LM votes over the sibling states;
 * BFS keeps the {@code breadth} best states per level, DFS follows the best child first, prunes states whose value
 * is below {@code threshold}, and backtracks, visiting at most {@code maxNodes} states.
 */
public final class TreeOfThoughts extends MetaGenerator {
    /** BFS or DFS, as in the paper's two search algorithms. */
    public enum Mode {
        /** Breadth-first: the {@code breadth} best states of each level go on. */
        BFS,
        /** Depth-first: the best child first, pruning below the threshold, with backtracking. */
        DFS
    }

    /**
     * The vote evaluator: a generator asked {@code votes} times which of the listed states is most promising.
     *
     * @param judge the generator that votes
     * @param template the vote prompt, with {@code {prompt}} and {@code {choices}}
     * @param votes how many times it is asked
     * @param params the judge's parameters
     */
    public record Voter(Generator judge, String template, int votes, GenerationParams params) {
        public static final String DEFAULT_TEMPLATE = "{prompt}\n\n{choices}\nThe most promising choice is Choice ";
    }

    private static final Pattern INDEX = Pattern.compile("\\d+");
    private final Generator inner;
    private final Scorer value; // null when voting
    private final Voter voter;  // null when valuing
    private final StepConfig steps;
    private final Mode mode;
    private final int k;
    private final int breadth;
    private final double threshold;
    private final int maxNodes;

    /**
     * Tree of thoughts with exactly one evaluator: {@code value} or {@code voter}.
     *
     * @param inner samples the steps
     * @param value scores each state, or null when voting
     * @param voter votes among sibling states, or null when valuing
     * @param steps how paths split into steps
     * @param mode BFS or DFS
     * @param k thoughts sampled per state
     * @param breadth states kept per level (BFS)
     * @param threshold states valued below this are pruned (DFS)
     * @param maxNodes the most states visited
     */
    public TreeOfThoughts(Generator inner, Scorer value, Voter voter, StepConfig steps, Mode mode, int k, int breadth,
                          double threshold, int maxNodes) {
        if ((value == null) == (voter == null)) {
            throw new MetagenException("tot: give exactly one evaluator, a value scorer or a voter");
        }
        if (k < 1 || breadth < 1 || maxNodes < 1) {
            throw new MetagenException("tot: k, breadth and max_nodes must be >= 1, got " + k + ", " + breadth + ", " + maxNodes);
        }
        this.inner = inner;
        this.value = value;
        this.voter = voter;
        this.steps = steps;
        this.mode = mode;
        this.k = k;
        this.breadth = breadth;
        this.threshold = threshold;
        this.maxNodes = maxNodes;
    }

    @Override
    public String name() {
        return "tot";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        // with a voter, the tree's own scorer is unused: votes overwrite the scores after each expansion
        Tree tree = new Tree(inner, value != null ? value : (p, g) -> Double.NaN, steps, prompt, params);
        Node found = null;
        try {
            found = mode == Mode.BFS ? bfs(scope, tree, prompt, params) : dfs(scope, tree, tree.root, prompt, params);
        } catch (Stopped s) {
            // keep what was explored
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("mode", mode.name().toLowerCase(java.util.Locale.ROOT));
        trace.put("tree", tree.toTrace());
        Node best = found != null ? found : SearchResult.best(tree.nodes());
        if (best != null) {
            trace.put("chosen_node", best.id);
            trace.put("chosen_score", best.score);
        }
        return result(scope, best == null ? null : best.asGeneration(), trace);
    }

    private List<Node> expandAndEvaluate(Scope scope, Tree tree, Node n, Prompt prompt, GenerationParams params) {
        List<Node> children = tree.expand(scope, n, k);
        if (voter != null && !children.isEmpty()) {
            vote(scope, children, prompt, params, n.id);
        }
        return children;
    }

    private Node bfs(Scope scope, Tree tree, Prompt prompt, GenerationParams params) {
        List<Node> frontier = List.of(tree.root);
        while (!frontier.isEmpty()) {
            List<Node> next = new ArrayList<>();
            for (Node n : frontier) {
                scope.checkpoint();
                next.addAll(expandAndEvaluate(scope, tree, n, prompt, params));
            }
            next.sort(Comparator.comparingDouble((Node c) -> c.score).reversed());
            List<Node> open = new ArrayList<>();
            for (Node c : next.subList(0, Math.min(breadth, next.size()))) {
                if (!c.terminal) {
                    open.add(c);
                }
            }
            frontier = open;
        }
        return null; // the best complete state is chosen from the tree
    }

    private Node dfs(Scope scope, Tree tree, Node n, Prompt prompt, GenerationParams params) {
        if (tree.nodes().size() >= maxNodes) {
            return null;
        }
        List<Node> children = new ArrayList<>(expandAndEvaluate(scope, tree, n, prompt, params));
        children.sort(Comparator.comparingDouble((Node c) -> c.score).reversed());
        for (Node c : children) {
            scope.checkpoint(); // backtracking visits many states: stop between them
            if (c.score < threshold) {
                break; // pruned, and so are the worse siblings
            }
            if (c.terminal) {
                return c;
            }
            Node found = dfs(scope, tree, c, prompt, params);
            if (found != null) {
                return found;
            }
        }
        return null; // backtrack
    }

    /** Scores siblings by the fraction of LM votes each receives. */
    private void vote(Scope scope, List<Node> children, Prompt prompt, GenerationParams params, int parentId) {
        StringBuilder choices = new StringBuilder();
        for (int i = 0; i < children.size(); i++) {
            choices.append("Choice ").append(i).append(":\n").append(children.get(i).text.strip()).append("\n\n");
        }
        String text = voter.template().replace("{prompt}", prompt.text()).replace("{choices}", choices);
        List<Generation> ballots = scope.parallel(voter.votes(), v -> scope.call(voter.judge(), Prompt.of(text),
                Seeds.params(voter.params(), Seeds.derive(Seeds.derive(params.seed(), parentId), v))));
        int[] counts = new int[children.size()];
        for (Generation b : ballots) {
            Matcher m = INDEX.matcher(b.text());
            if (m.find() && m.group().length() < 6) {
                int i = Integer.parseInt(m.group());
                if (i < counts.length) {
                    counts[i]++;
                }
            }
        }
        for (int i = 0; i < children.size(); i++) {
            children.get(i).score = ballots.isEmpty() ? 0 : counts[i] / (double) ballots.size();
        }
    }
}
