package dev.metagen.decoding.beam;

import dev.metagen.core.FinishReason;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Beam search (Welleck et al., 2024, section 3.1; Hugging Face's {@code BeamSearchScorer}) with a length penalty
 * (hypotheses rank by {@code logprob / length^lengthPenalty}), early stopping and several returned sequences,
 * and diverse beam search (Vijayakumar et al., 2018, "Diverse Beam Search"): the beams split into groups
 * decoded one after another at each step, and a token already chosen by earlier groups at this step costs
 * {@code diversityPenalty} per use (Hamming diversity).
 *
 * <p>Example:
 * <pre>{@code
 * Generator beams = BeamGenerator.of(model, new BeamSearch(model, BeamSearch.Settings.of(4)));
 * Generation best = beams.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
 * }</pre>
 */
public final class BeamSearch implements Search {
    /** Beams beyond this are refused: every beam holds a KV cache. */
    public static final int MAX_BEAMS = 64;

    /**
     * The search's settings.
     *
     * @param earlyStopping stop a group as soon as it has {@code beams / groups} finished hypotheses; otherwise
     *                      stop when no running beam can still beat the worst kept hypothesis (Hugging Face's
     *                      heuristic)
     * @param beams the beam width, in [1, {@link #MAX_BEAMS}]
     * @param lengthPenalty the exponent of the length normalisation (0: raw log-probability)
     * @param numReturn how many hypotheses are returned, in [1, beams]
     * @param groups the diverse beam groups (1: plain beam search); must divide {@code beams}
     * @param diversityPenalty the cost per earlier use of a token at the same step (0: off)
     */
    public record Settings(int beams, double lengthPenalty, boolean earlyStopping, int numReturn, int groups,
                           double diversityPenalty) {
        /** Checks every setting. */
        public Settings {
            if (beams < 1 || beams > MAX_BEAMS) {
                throw new MetagenException("beams must be in [1, " + MAX_BEAMS + "], got " + beams);
            }
            if (!Double.isFinite(lengthPenalty)) {
                throw new MetagenException("length penalty must be a finite number, got " + lengthPenalty);
            }
            if (numReturn < 1 || numReturn > beams) {
                throw new MetagenException("the number of returned sequences must be in [1, beams = " + beams + "], got " + numReturn);
            }
            if (groups < 1 || beams % groups != 0) {
                throw new MetagenException("diverse groups must be >= 1 and divide the beams (" + beams + "), got " + groups);
            }
            if (!(diversityPenalty >= 0) || Double.isInfinite(diversityPenalty)) {
                throw new MetagenException("diversity penalty must be a finite number >= 0, got " + diversityPenalty);
            }
        }

        /**
         * Plain beam search of {@code beams} beams: length penalty 1, no early stopping, the best hypothesis
         * returned.
         *
         * @param beams the beam width
         * @return the settings
         */
        public static Settings of(int beams) {
            return new Settings(beams, 1.0, false, 1, 1, 0);
        }
    }

    private final LanguageModel model;
    private final Settings settings;
    private final Set<Integer> endTokens;
    /** Logit processors applied to every beam's next-token distribution (none by default). */
    private final List<dev.metagen.decoding.sampling.Sampler> processors;

    /**
     * A search over {@code model} that ends hypotheses at the model's end-of-generation tokens.
     *
     * @param model the model
     * @param settings the settings
     */
    public BeamSearch(LanguageModel model, Settings settings) {
        this(model, settings, Set.of());
    }

    /**
     * {@code stopTokens} end a hypothesis like the model's end-of-generation tokens.
     *
     * @param model the model
     * @param settings the settings
     * @param stopTokens extra end tokens
     */
    public BeamSearch(LanguageModel model, Settings settings, Set<Integer> stopTokens) {
        this(model, settings, stopTokens, List.of());
    }

    /**
     * A search whose every step ranks tokens by the distribution after the logit processors of {@code sampling}
     * (logit bias, minimum length, no-repeat n-grams, repetition/frequency/presence penalties over each beam's own
     * history, prompt included), as Hugging Face's beam search applies its {@code LogitsProcessorList}; its stop
     * tokens end a hypothesis like the model's end-of-generation tokens. The other sampler knobs draw nothing here.
     *
     * @param model the model
     * @param settings the settings
     * @param sampling the call's sampling knobs
     */
    public BeamSearch(LanguageModel model, Settings settings, dev.metagen.core.SamplingConfig sampling) {
        this(model, settings, sampling.stopTokens(),
                dev.metagen.decoding.sampling.SamplerChain.logitProcessors(sampling, model.tokenizer()));
    }

    private BeamSearch(LanguageModel model, Settings settings, Set<Integer> stopTokens,
                       List<dev.metagen.decoding.sampling.Sampler> processors) {
        this.model = model;
        this.settings = settings;
        java.util.HashSet<Integer> ends = new java.util.HashSet<>(model.tokenizer().special().endOfGeneration());
        ends.addAll(stopTokens);
        this.endTokens = Set.copyOf(ends);
        this.processors = processors;
    }

    /** The next-token log-probabilities of a beam: the model's, or after the logit processors on its history. */
    private double[] next(Logits logits, int[] promptIds, int[] generated) {
        if (processors.isEmpty()) {
            return logits.logProbabilities();
        }
        int[] history = Arrays.copyOf(promptIds, promptIds.length + generated.length);
        System.arraycopy(generated, 0, history, promptIds.length, generated.length);
        dev.metagen.decoding.sampling.Candidates c = dev.metagen.decoding.sampling.Candidates.of(logits.values(), history,
                generated.length);
        for (dev.metagen.decoding.sampling.Sampler p : processors) {
            p.apply(c);
        }
        float[] adjusted = new float[logits.size()];
        Arrays.fill(adjusted, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < c.size(); i++) {
            adjusted[c.id(i)] = c.logit(i);
        }
        return new Logits(adjusted).logProbabilities();
    }

    /** A running beam: its cache, tokens, raw log-probability sum and (diversity-augmented) objective. */
    private record Beam(ModelState state, int[] tokens, double[] logprobs, double sum, double objective, double[] next) {}

    private record Candidate(Beam parent, int token, double lp, double objective) {}

    private double normalise(double sum, int length) {
        return sum / Math.pow(Math.max(1, length), settings.lengthPenalty());
    }

    @Override
    public int maxReturned() {
        return settings.numReturn();
    }

    /** The best {@code numReturn} hypotheses after {@code promptIds}, best first. */
    @Override
    public Result run(int[] promptIds, int maxTokens) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: beam search needs at least one token (e.g. BOS)");
        }
        if (maxTokens < 1) {
            throw new MetagenException("beam search needs max tokens >= 1, got " + maxTokens);
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        int groups = settings.groups();
        int groupSize = settings.beams() / groups;
        List<List<Beam>> running = new ArrayList<>();
        List<List<Hypothesis>> finished = new ArrayList<>();
        boolean[] done = new boolean[groups];
        // counted per call (not on the instance): concurrent searches share this object
        long calls = 1;
        boolean cancelled = false;
        ModelState root = model.newState();
        double[] rootNext = next(model.forward(root, promptIds), promptIds, new int[0]);
        for (int g = 0; g < groups; g++) {
            // every group starts from the prompt alone
            running.add(new ArrayList<>(List.of(new Beam(g == 0 ? root : root.fork(), new int[0], new double[0], 0, 0, rootNext))));
            finished.add(new ArrayList<>());
        }
        try {
            for (int t = 0; t < maxTokens; t++) {
                int[] usedThisStep = new int[rootNext.length];
                List<Beam> parents = new ArrayList<>();
                List<Candidate> chosen = new ArrayList<>();
                List<Integer> chosenGroup = new ArrayList<>();
                for (int g = 0; g < groups; g++) {
                    if (done[g]) {
                        continue;
                    }
                    List<Candidate> best = topCandidates(running.get(g), 2 * groupSize, usedThisStep);
                    int kept = 0;
                    for (int rank = 0; rank < best.size() && kept < groupSize; rank++) {
                        Candidate c = best.get(rank);
                        if (endTokens.contains(c.token())) {
                            if (rank < groupSize) {
                                Beam p = c.parent();
                                double sum = p.sum() + c.lp();
                                addHypothesis(finished.get(g), new Hypothesis(p.tokens(), p.logprobs(), sum,
                                        normalise(sum, p.tokens().length + 1), FinishReason.STOP), groupSize);
                            }
                            continue;
                        }
                        chosen.add(c);
                        chosenGroup.add(g);
                        kept++;
                    }
                    for (Candidate c : chosen.subList(chosen.size() - kept, chosen.size())) {
                        usedThisStep[c.token()]++;
                    }
                    parents.addAll(running.get(g));
                }
                // an interrupt (cancellation, time budget) makes this step the last: no further forward starts
                cancelled = Thread.currentThread().isInterrupted();
                boolean last = cancelled || t == maxTokens - 1 || promptIds.length + t + 1 >= ctx;
                // fork each chosen parent and advance all new beams in one batched forward
                List<ModelState> states = new ArrayList<>();
                List<int[]> feed = new ArrayList<>();
                for (Candidate c : chosen) {
                    ModelState s = c.parent().state().fork();
                    states.add(s);
                    feed.add(new int[] {c.token()});
                }
                List<Logits> logits = last || states.isEmpty() ? List.of() : model.forward(states, feed);
                calls += logits.isEmpty() ? 0 : 1;
                for (Beam p : parents) {
                    p.state().close();
                }
                List<List<Beam>> next = new ArrayList<>();
                for (int g = 0; g < groups; g++) {
                    next.add(new ArrayList<>());
                }
                for (int i = 0; i < chosen.size(); i++) {
                    Candidate c = chosen.get(i);
                    Beam p = c.parent();
                    int[] tokens = Arrays.copyOf(p.tokens(), p.tokens().length + 1);
                    tokens[tokens.length - 1] = c.token();
                    double[] lps = Arrays.copyOf(p.logprobs(), p.logprobs().length + 1);
                    lps[lps.length - 1] = c.lp();
                    double[] nextLp = last ? null : next(logits.get(i), promptIds, tokens);
                    next.get(chosenGroup.get(i)).add(new Beam(states.get(i), tokens, lps, p.sum() + c.lp(), c.objective(), nextLp));
                }
                running = next;
                for (int g = 0; g < groups; g++) {
                    if (!done[g] && groupDone(finished.get(g), running.get(g), groupSize, t + 1)) {
                        done[g] = true;
                        for (Beam b : running.get(g)) {
                            b.state().close();
                        }
                        running.get(g).clear();
                    }
                }
                if (last) {
                    break;
                }
                boolean all = true;
                for (boolean d : done) {
                    all &= d;
                }
                if (all) {
                    break;
                }
            }
            // beams still running at the limit become hypotheses (finish: length, or cancelled)
            for (int g = 0; g < groups; g++) {
                if (done[g]) {
                    continue;
                }
                for (Beam b : running.get(g)) {
                    addHypothesis(finished.get(g), new Hypothesis(b.tokens(), b.logprobs(), b.sum(),
                            normalise(b.sum(), b.tokens().length), cancelled ? FinishReason.CANCELLED : FinishReason.LENGTH), groupSize);
                }
            }
        } finally {
            for (List<Beam> group : running) {
                for (Beam b : group) {
                    b.state().close();
                }
            }
        }
        List<Hypothesis> all = new ArrayList<>();
        finished.forEach(all::addAll);
        all.sort(Comparator.comparingDouble(Hypothesis::score).reversed());
        return new Result(all.subList(0, Math.min(settings.numReturn(), all.size())), calls, cancelled);
    }

    /** The {@code n} best (beam, token) extensions of a group by objective, lowest token id on ties. */
    private List<Candidate> topCandidates(List<Beam> beams, int n, int[] usedThisStep) {
        Comparator<Candidate> order = Comparator.comparingDouble(Candidate::objective)
                .thenComparing(c -> -c.token()).thenComparing(c -> -c.parent().objective());
        PriorityQueue<Candidate> heap = new PriorityQueue<>(order);
        for (Beam b : beams) {
            double[] lp = b.next();
            for (int v = 0; v < lp.length; v++) {
                if (lp[v] == Double.NEGATIVE_INFINITY) {
                    continue;
                }
                double obj = b.objective() + lp[v] - settings.diversityPenalty() * usedThisStep[v];
                Candidate c = new Candidate(b, v, lp[v], obj);
                if (heap.size() < n) {
                    heap.add(c);
                } else if (order.compare(c, heap.peek()) > 0) {
                    heap.poll();
                    heap.add(c);
                }
            }
        }
        List<Candidate> out = new ArrayList<>(heap);
        out.sort(order.reversed());
        return out;
    }

    private static void addHypothesis(List<Hypothesis> kept, Hypothesis h, int max) {
        kept.add(h);
        kept.sort(Comparator.comparingDouble(Hypothesis::score).reversed());
        if (kept.size() > max) {
            kept.removeLast();
        }
    }

    private boolean groupDone(List<Hypothesis> kept, List<Beam> running, int groupSize, int length) {
        if (running.isEmpty()) {
            return true;
        }
        if (kept.size() < groupSize) {
            return false;
        }
        if (settings.earlyStopping()) {
            return true;
        }
        double bestRunning = Double.NEGATIVE_INFINITY;
        for (Beam b : running) {
            bestRunning = Math.max(bestRunning, b.sum());
        }
        return kept.getLast().score() >= normalise(bestRunning, length);
    }
}
