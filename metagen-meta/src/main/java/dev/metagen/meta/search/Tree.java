package dev.metagen.meta.search;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The explored tree of one search: grows nodes by asking the inner generator for one step at a time, scores them
 * with the process reward, and exports itself for the trace. Node ids are given out in a fixed order, and each
 * step's seed derives from its parent's id and its child index, so a search is reproducible under concurrency.
 */
final class Tree {
    private final Generator inner;
    private final Scorer scorer;
    private final StepConfig steps;
    private final Prompt prompt;
    private final GenerationParams params;
    private final List<Node> nodes = new ArrayList<>();
    final Node root;

    Tree(Generator inner, Scorer scorer, StepConfig steps, Prompt prompt, GenerationParams params) {
        this.inner = inner;
        this.scorer = scorer;
        this.steps = steps;
        this.prompt = prompt;
        this.params = params;
        this.root = add(null, 0, "", "", new int[0], new double[0], false, FinishReason.STOP);
    }

    private synchronized Node add(Node parent, long key, String step, String text, int[] tokens, double[] lps, boolean terminal, FinishReason f) {
        Node n = new Node(nodes.size(), parent, key, step, text, tokens, lps, terminal, f);
        nodes.add(n);
        if (parent != null) {
            parent.children.add(n);
        }
        return n;
    }

    /** A step generation and the seed key of the child it becomes. */
    record Step(long key, Generation generation) {
    }

    /** One step from {@code parent}: the generation, not yet a node. */
    private Step step(Scope scope, Node parent, int childIndex) {
        long key = Seeds.derive(parent.key, childIndex);
        GenerationParams p = Seeds.params(params, key)
                .withMaxTokens(Math.min(steps.stepMaxTokens(), params.maxTokens()))
                .withStop(List.of(steps.delimiter()));
        return new Step(key, scope.call(inner, Prompt.of(prompt.text() + parent.text), p));
    }

    /** Generates {@code k} next steps of {@code parent} concurrently; those stopped by the budget are missing. */
    List<Step> steps(Scope scope, Node parent, int k) {
        int offset;
        synchronized (this) {
            offset = parent.expansions;
            parent.expansions += k;
        }
        return scope.parallel(k, i -> step(scope, parent, offset + i));
    }

    /** Turns generated steps into scored children of {@code parent}, in order. */
    List<Node> addChildren(Scope scope, Node parent, List<Step> generated) {
        List<Node> out = new ArrayList<>();
        for (Step s : generated) {
            out.add(child(parent, s.key(), s.generation()));
        }
        for (Node n : out) {
            score(scope, n);
        }
        return out;
    }

    /** Expands {@code parent} with {@code k} concurrently generated, scored children. */
    List<Node> expand(Scope scope, Node parent, int k) {
        return addChildren(scope, parent, steps(scope, parent, k));
    }

    private Node child(Node parent, long key, Generation g) {
        boolean hitStepLimit = g.finish() == FinishReason.LENGTH && g.tokens().length >= steps.stepMaxTokens();
        // out of tokens before the step limit: the context, the caller's limit or the budget
        boolean outOfTokens = g.finish() == FinishReason.LENGTH && !hitStepLimit;
        boolean stopped = g.text().isEmpty() && !outOfTokens;
        String text = parent.text + g.text() + (hitStepLimit || outOfTokens || stopped ? "" : steps.delimiter());
        // the caller's stop strings end the whole path (the step itself only stops at the delimiter)
        int cut = firstStop(text, parent.text.length());
        if (cut >= 0) {
            text = text.substring(0, cut);
            stopped = true;
        }
        int depth = parent.depth + 1;
        int[] tokens = Node.concat(parent.tokens, g.tokens());
        boolean complete = steps.finalPattern() != null && steps.finalPattern().matcher(text).find();
        boolean exhausted = outOfTokens || depth >= steps.maxSteps() || tokens.length >= params.maxTokens();
        FinishReason f = stopped || complete ? FinishReason.STOP : exhausted ? FinishReason.LENGTH : g.finish();
        return add(parent, key, g.text(), text, tokens, Node.concat(parent.logprobs, g.logprobs()),
                stopped || complete || exhausted, f);
    }

    /** Where the first of the caller's stop strings starts at or after {@code from - (its length - 1)}, or -1. */
    private int firstStop(String text, int from) {
        int best = -1;
        for (String stop : params.stop()) {
            if (stop.isEmpty()) {
                continue;
            }
            int at = text.indexOf(stop, Math.max(0, from - stop.length() + 1));
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    void score(Scope scope, Node n) {
        n.score = scope.score(scorer, prompt, n.asGeneration());
    }

    /** Completes the path from {@code n} without step limits (an MCTS rollout). */
    Generation rollout(Scope scope, Node n, int index) {
        GenerationParams p = Seeds.params(params, Seeds.derive(~n.key, index));
        Generation g = scope.call(inner, Prompt.of(prompt.text() + n.text), p);
        return new Generation(n.text + g.text(), Node.concat(n.tokens, g.tokens()), Node.concat(n.logprobs, g.logprobs()),
                g.finish(), dev.metagen.core.Cost.ZERO, Map.of());
    }

    double score(Scope scope, Generation g) {
        return scope.score(scorer, prompt, g);
    }

    synchronized List<Node> nodes() {
        return List.copyOf(nodes);
    }

    Map<String, Object> toTrace() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Node n : nodes()) {
            rows.add(n.toTrace());
        }
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("nodes", rows);
        return t;
    }
}
