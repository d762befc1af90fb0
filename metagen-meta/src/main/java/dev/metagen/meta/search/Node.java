package dev.metagen.meta.search;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A partial solution in a search tree: the path text so far (steps joined with their delimiters), its generated
 * tokens and log-probabilities, a process-reward score, and MCTS statistics.
 */
public final class Node {
    final int id;
    final Node parent;
    // seeds derive from the path (parent key, child index), not from ids, so concurrent searches reproduce
    final long key;
    int expansions;
    final int depth;
    final String step;
    final String text;
    final int[] tokens;
    final double[] logprobs;
    final boolean terminal;
    final FinishReason finish;
    final List<Node> children = new ArrayList<>();
    double score = Double.NaN;
    double prior = 1;
    int visits;
    double valueSum;
    Generation completion; // an MCTS rollout from this node, when one was made

    Node(int id, Node parent, long key, String step, String text, int[] tokens, double[] logprobs, boolean terminal, FinishReason finish) {
        this.id = id;
        this.parent = parent;
        this.key = key;
        this.depth = parent == null ? 0 : parent.depth + 1;
        this.step = step;
        this.text = text;
        this.tokens = tokens;
        this.logprobs = logprobs;
        this.terminal = terminal;
        this.finish = finish;
    }

    /** {@return the process-reward score (NaN before scoring)} */
    public double score() {
        return score;
    }

    /** {@return whether the path is complete} */
    public boolean terminal() {
        return terminal;
    }

    /** {@return the path text so far} */
    public String text() {
        return text;
    }

    /** {@return the mean backed-up value (0 before any visit)} */
    public double meanValue() {
        return visits == 0 ? 0 : valueSum / visits;
    }

    /** The path as a generation (cost zero: the search's scope holds the cost). */
    Generation asGeneration() {
        return new Generation(text, tokens, logprobs, finish, dev.metagen.core.Cost.ZERO, Map.of());
    }

    Map<String, Object> toTrace() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("parent", parent == null ? -1 : parent.id);
        m.put("depth", depth);
        m.put("step", step);
        m.put("score", Double.isNaN(score) ? null : score);
        m.put("visits", visits);
        m.put("value", meanValue());
        m.put("prior", prior);
        m.put("terminal", terminal);
        m.put("tokens", tokens.length);
        return m;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static double[] concat(double[] a, double[] b) {
        double[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
