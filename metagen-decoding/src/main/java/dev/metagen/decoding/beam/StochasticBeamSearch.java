package dev.metagen.decoding.beam;

import dev.metagen.core.FinishReason;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Stochastic beam search (Kool et al., 2019, "Stochastic Beams and Where to Find Them: The Gumbel-Top-k Trick
 * for Sampling Sequences Without Replacement"): every partial sequence carries a Gumbel key, perturbed
 * log-probability conditioned on its parent's key being the maximum of its children's; keeping the top
 * {@code k} keys at each step yields {@code k} sequences sampled without replacement from the model (with
 * temperature {@code t}). Each hypothesis's score is its key.
 */
public final class StochasticBeamSearch implements Search {
    private final LanguageModel model;
    private final int k;
    private final double temperature;
    private final long seed;
    private final Set<Integer> endTokens;

    /**
     * Stochastic beam search that ends hypotheses at the model's end-of-generation tokens.
     *
     * @param model the model
     * @param k the number of sequences sampled, in [1, {@link BeamSearch#MAX_BEAMS}]
     * @param temperature the sampling temperature
     * @param seed the seed of the Gumbel noise
     */
    public StochasticBeamSearch(LanguageModel model, int k, double temperature, long seed) {
        this(model, k, temperature, seed, Set.of());
    }

    /**
     * Stochastic beam search.
     *
     * @param model the model
     * @param k the number of sequences sampled, in [1, {@link BeamSearch#MAX_BEAMS}]
     * @param temperature the sampling temperature
     * @param seed the seed of the Gumbel noise
     * @param stopTokens extra end tokens
     */
    public StochasticBeamSearch(LanguageModel model, int k, double temperature, long seed, Set<Integer> stopTokens) {
        if (k < 1 || k > BeamSearch.MAX_BEAMS) {
            throw new MetagenException("stochastic beams must be in [1, " + BeamSearch.MAX_BEAMS + "], got " + k);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new MetagenException("stochastic beam search needs a finite temperature > 0, got " + temperature);
        }
        this.model = model;
        this.k = k;
        this.temperature = temperature;
        this.seed = seed;
        Set<Integer> ends = new HashSet<>(model.tokenizer().special().endOfGeneration());
        ends.addAll(stopTokens);
        this.endTokens = Set.copyOf(ends);
    }

    /**
     * A partial or finished sequence: {@code phi} its log-probability under the tempered model, {@code key} its
     * Gumbel key, {@code logprob} its log-probability under the raw model.
     */
    private record Node(ModelState state, int[] tokens, double[] logprobs, double logprob, double phi, double key,
                        double[] raw, double[] tempered, FinishReason finish) {}

    private record Child(Node parent, int token, double key) {}

    /** {@code k} sequences sampled without replacement, highest key first. */
    @Override
    public int maxReturned() {
        return k;
    }

    @Override
    public Result run(int[] promptIds, int maxTokens) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: stochastic beam search needs at least one token (e.g. BOS)");
        }
        if (maxTokens < 1) {
            throw new MetagenException("stochastic beam search needs max tokens >= 1, got " + maxTokens);
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        SplittableRandom random = new SplittableRandom(seed);
        // counted per call (not on the instance): concurrent searches share this object
        long calls = 1;
        boolean cancelled = false;
        ModelState root = model.newState();
        Logits l = model.forward(root, promptIds);
        List<Node> beam = new ArrayList<>(List.of(new Node(root, new int[0], new double[0], 0, 0, 0,
                l.logProbabilities(), tempered(l), null)));
        try {
            for (int t = 0; t < maxTokens && beam.stream().anyMatch(n -> n.finish() == null); t++) {
                List<Child> children = new ArrayList<>();
                List<Node> finishedKept = new ArrayList<>();
                for (Node n : beam) {
                    if (n.finish() != null) {
                        finishedKept.add(n);
                        continue;
                    }
                    children.addAll(expand(n, random));
                }
                // finished sequences compete with the children under their unchanged keys
                List<Object> pool = new ArrayList<>(children);
                pool.addAll(finishedKept);
                pool.sort(Comparator.comparingDouble(o -> -(o instanceof Child c ? c.key() : ((Node) o).key())));
                List<Object> top = pool.subList(0, Math.min(k, pool.size()));
                // an interrupt (cancellation, time budget) makes this step the last: no further forward starts
                cancelled = Thread.currentThread().isInterrupted();
                boolean last = cancelled || t == maxTokens - 1 || promptIds.length + t + 1 >= ctx;
                List<Node> next = new ArrayList<>();
                List<ModelState> states = new ArrayList<>();
                List<int[]> feed = new ArrayList<>();
                List<Child> advanced = new ArrayList<>();
                for (Object o : top) {
                    if (o instanceof Node n) {
                        next.add(n);
                        continue;
                    }
                    Child c = (Child) o;
                    Node p = c.parent();
                    int[] tokens = Arrays.copyOf(p.tokens(), p.tokens().length + 1);
                    tokens[tokens.length - 1] = c.token();
                    double lp = p.raw()[c.token()];
                    double phi = p.phi() + p.tempered()[c.token()];
                    if (endTokens.contains(c.token())) {
                        next.add(new Node(null, p.tokens(), p.logprobs(), p.logprob() + lp, phi, c.key(), null, null, FinishReason.STOP));
                        continue;
                    }
                    double[] lps = Arrays.copyOf(p.logprobs(), p.logprobs().length + 1);
                    lps[lps.length - 1] = lp;
                    if (last) {
                        next.add(new Node(null, tokens, lps, p.logprob() + lp, phi, c.key(), null, null,
                                cancelled ? FinishReason.CANCELLED : FinishReason.LENGTH));
                        continue;
                    }
                    states.add(p.state().fork());
                    feed.add(new int[] {c.token()});
                    advanced.add(c);
                    next.add(new Node(null, tokens, lps, p.logprob() + lp, phi, c.key(), null, null, null));
                }
                List<Logits> out = states.isEmpty() ? List.of() : model.forward(states, feed);
                calls += out.isEmpty() ? 0 : 1;
                for (Node n : beam) {
                    if (n.state() != null) {
                        n.state().close();
                    }
                }
                // attach the new states and distributions to the running nodes, in order
                int a = 0;
                for (int i = 0; i < next.size(); i++) {
                    Node n = next.get(i);
                    if (n.finish() == null && n.state() == null) {
                        Logits nl = out.get(a);
                        next.set(i, new Node(states.get(a), n.tokens(), n.logprobs(), n.logprob(), n.phi(), n.key(),
                                nl.logProbabilities(), tempered(nl), null));
                        a++;
                    }
                }
                beam = next;
            }
        } finally {
            for (Node n : beam) {
                if (n.state() != null) {
                    n.state().close();
                }
            }
        }
        List<Hypothesis> result = new ArrayList<>();
        for (Node n : beam) {
            result.add(new Hypothesis(n.tokens(), n.logprobs(), n.logprob(), n.key(),
                    n.finish() != null ? n.finish() : FinishReason.LENGTH));
        }
        result.sort(Comparator.comparingDouble(Hypothesis::score).reversed());
        return new Result(result, calls, cancelled);
    }

    private double[] tempered(Logits l) {
        if (temperature == 1.0) {
            return l.logProbabilities();
        }
        float[] v = l.values().clone();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / temperature);
        }
        return new Logits(v).logProbabilities();
    }

    /** Children keys: Gumbel-perturbed log-probabilities, shifted so that their maximum is the parent's key. */
    private List<Child> expand(Node n, SplittableRandom random) {
        double[] lp = n.tempered();
        double[] g = new double[lp.length];
        double z = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < lp.length; v++) {
            g[v] = lp[v] == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : n.phi() + lp[v] + gumbel(random);
            z = Math.max(z, g[v]);
        }
        List<Child> out = new ArrayList<>();
        for (int v = 0; v < lp.length; v++) {
            if (g[v] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            out.add(new Child(n, v, shift(n.key(), z, g[v])));
        }
        return out;
    }

    /** {@code -log(exp(-t) - exp(-z) + exp(-g))}, computed stably (Kool et al., 2019, appendix B). */
    static double shift(double t, double z, double g) {
        double v = t - g + log1mexp(g - z);
        return t - Math.max(0, v) - Math.log1p(Math.exp(-Math.abs(v)));
    }

    /** {@code log(1 - exp(a))} for {@code a <= 0}. */
    private static double log1mexp(double a) {
        if (a >= 0) {
            return Double.NEGATIVE_INFINITY;
        }
        return a > -0.693 ? Math.log(-Math.expm1(a)) : Math.log1p(-Math.exp(a));
    }

    private static double gumbel(SplittableRandom random) {
        double u = random.nextDouble();
        while (u == 0) {
            u = random.nextDouble();
        }
        return -Math.log(-Math.log(u));
    }
}
