package dev.metagen.decoding.speculative;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.core.StreamingDecoder;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.StopStrings;
import dev.metagen.core.SamplingConfig;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Speculative decoding (Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding"; Chen et
 * al. 2023, "Accelerating Large Language Model Decoding with Speculative Sampling"): a {@link DraftSource} proposes
 * k tokens, the target scores all of them in one {@link LanguageModel#forwardAll} pass, and a prefix is accepted.
 * Greedy: drafts are accepted while they equal the target's argmax, then the target's own token follows, so the
 * output is plain greedy decoding's. Sampling: draft token x is accepted with probability min(1, p(x)/q(x)); on
 * the first rejection a token is drawn from norm(max(0, p - q)); when all are accepted a bonus token is drawn from
 * p. The output is then distributed as sampling from the target's adapted distribution p (temperature, top-k,
 * top-p, min-p; see {@link TargetDistribution}).
 *
 * <p>The target's state holds every token but the last emitted one ("pending"); each round feeds pending plus the
 * draft, so a round costs one target forward and yields between 1 and k+1 tokens. Rejected positions are rolled
 * back with {@link ModelState#truncate}.
 *
 * <p>Example:
 * <pre>{@code
 * Generator fast = new SpeculativeGenerator(model, () -> new PromptLookupSource(3), 4);
 * Generation g = fast.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(48));
 * // the same tokens as plain greedy decoding, in fewer forwards of the model when drafts are accepted
 * }</pre>
 */
public final class SpeculativeGenerator implements Generator {
    private final LanguageModel target;
    private final Supplier<DraftSource> drafts;
    private final int k;

    /**
     * A speculative generator for {@code target}.
     *
     * @param drafts a new draft source per generation (sources keep per-sequence state)
     * @param k      the most tokens drafted per round, in [1, 64]
     * @param target the model whose distribution the output follows
     */
    public SpeculativeGenerator(LanguageModel target, Supplier<DraftSource> drafts, int k) {
        if (k < 1 || k > 64) {
            throw new MetagenException("draft length k must be in [1, 64], got " + k);
        }
        this.target = target;
        this.drafts = drafts;
        this.k = k;
    }

    /**
     * Fails unless speculative decoding can honour every setting of {@code params}: temperature, top-k, top-p and
     * min-p sampling or greedy, stops and the seed; no other adapter, constraint, guidance or top logprobs.
     *
     * @param params the call's parameters
     */
    public static void checkSupported(GenerationParams params) {
        if (params.constraint() != null || !params.guidance().isNone() || params.logprobs() > 0) {
            throw new MetagenException("speculative decoding cannot apply "
                    + (params.constraint() != null ? "an output constraint" : params.logprobs() > 0 ? "logprobs (top alternatives)" : "guidance"));
        }
        if (!params.sampling().stopTokens().isEmpty()) {
            throw new MetagenException("speculative decoding cannot apply stop_tokens");
        }
        TargetDistribution.of(params.sampling()); // refuses the adapters speculative sampling cannot reproduce
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        int[] ids = target.tokenizer().encode(prompt.text(), params.addSpecial(), false);
        return generate(ids, params);
    }

    /**
     * A prefill of all but the last prompt token, then one target forward per round, each round yielding >= 1 token;
     * a draft model's forwards of each round's proposal come on top.
     */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        if (params.maxTokens() == 0) {
            return 0;
        }
        long perRound;
        try (DraftSource s = drafts.get()) {
            perRound = s.maxCallsPerProposal(k);
        }
        return params.maxTokens() + 1L + params.maxTokens() * perRound;
    }

    /**
     * Generates from prompt token ids.
     *
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @return the generation
     */
    public Generation generate(int[] promptIds, GenerationParams params) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        int ctx = target.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        checkSupported(params);
        SamplingConfig cfg = params.sampling();
        boolean greedy = cfg.temperature() == 0 && cfg.dynatempRange() == 0;
        TargetDistribution dist = greedy ? null : TargetDistribution.of(cfg);
        SplittableRandom random = new SplittableRandom(cfg.seed());
        Tokenizer tok = target.tokenizer();
        StreamingDecoder decoder = tok.streamingDecoder();
        StopStrings stops = new StopStrings(params.stop());
        StringBuilder text = new StringBuilder();
        int max = params.maxTokens();
        int[] history = Arrays.copyOf(promptIds, promptIds.length + max);
        int[] out = new int[max];
        double[] logprobs = new double[max];
        int n = 0;
        long forwards = 0;
        long rounds = 0;
        long drafted = 0;
        long accepted = 0;
        FinishReason finish = FinishReason.LENGTH;
        long t0 = System.nanoTime();
        long prefillNanos = 0;
        String source;
        Cost draftCost;
        try (DraftSource draftSource = drafts.get(); ModelState state = target.newState()) {
            source = draftSource.describe();
            if (promptIds.length > 1 && max > 0) {
                target.forward(state, Arrays.copyOf(promptIds, promptIds.length - 1));
                forwards++;
            }
            prefillNanos = System.nanoTime() - t0;
            int pending = promptIds[promptIds.length - 1];
            rounds:
            while (n < max) {
                if (Thread.currentThread().isInterrupted()) {
                    finish = FinishReason.CANCELLED;
                    break;
                }
                int room = Math.min(max - n - 1, ctx - state.length() - 1);
                if (room < 0) {
                    break; // context full: finish as LENGTH
                }
                int[] context = Arrays.copyOf(history, promptIds.length + n);
                DraftSource.Draft draft = draftSource.propose(context, Math.min(k, room), dist);
                int d = Math.min(draft.size(), room);
                int[] fed = new int[1 + d];
                fed[0] = pending;
                System.arraycopy(draft.tokens(), 0, fed, 1, d);
                int base = state.length();
                List<Logits> all = target.forwardAll(state, fed);
                forwards++;
                rounds++;
                drafted += d;
                // all.get(i) is the target's next-token distribution after fed[i]
                int ok = 0;
                int extra = -1;
                for (int i = 0; i < d && extra < 0; i++) {
                    float[] logits = all.get(i).values();
                    int x = draft.tokens()[i];
                    if (greedy) {
                        int best = all.get(i).argmax();
                        if (best == x) {
                            ok++;
                        } else {
                            extra = best;
                        }
                    } else {
                        double[] p = dist.probabilities(logits);
                        double q = draft.q(i);
                        if (q > 0 && random.nextDouble() < Math.min(1.0, p[x] / q)) {
                            ok++;
                        } else {
                            extra = residual(p, draft.distribution(i), x, random);
                        }
                    }
                }
                if (extra < 0) { // every draft token accepted: a bonus token from the last distribution
                    Logits last = all.get(d);
                    extra = greedy ? last.argmax() : DraftModelSource.draw(dist.probabilities(last.values()), random);
                }
                accepted += ok;
                // keep pending and the accepted draft tokens in the cache; the extra token becomes pending
                state.truncate(base + 1 + ok);
                for (int i = 0; i <= ok; i++) {
                    int token = i < ok ? draft.tokens()[i] : extra;
                    if (tok.special().isEndOfGeneration(token) || cfg.stopTokens().contains(token)) {
                        finish = FinishReason.STOP;
                        break rounds;
                    }
                    out[n] = token;
                    logprobs[n] = all.get(i).logProbabilities()[token];
                    history[promptIds.length + n] = token;
                    n++;
                    text.append(stops.accept(decoder.accept(token)));
                    if (stops.stopped()) {
                        finish = FinishReason.STOP;
                        break rounds;
                    }
                    if (n == max) {
                        break rounds;
                    }
                }
                pending = extra;
            }
            draftCost = draftSource.cost();
        }
        if (!stops.stopped()) {
            text.append(stops.accept(decoder.flush())).append(stops.flush());
        }
        long total = System.nanoTime() - t0;
        long decodeNanos = total - prefillNanos;
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("prefill_ms", prefillNanos / 1e6);
        trace.put("decode_ms", decodeNanos / 1e6);
        trace.put("prefill_tokens_per_s", prefillNanos == 0 ? 0.0 : (promptIds.length - 1) / (prefillNanos / 1e9));
        trace.put("decode_tokens_per_s", decodeNanos == 0 ? 0.0 : n / (decodeNanos / 1e9));
        trace.put("prompt_ids", promptIds);
        trace.put("sampling", cfg.describe());
        trace.put("draft", source);
        trace.put("draft_k", k);
        trace.put("target_forwards", rounds);
        trace.put("drafted_tokens", drafted);
        trace.put("accepted_tokens", accepted);
        trace.put("acceptance_rate", drafted == 0 ? 0.0 : (double) accepted / drafted);
        trace.put("tokens_per_target_forward", rounds == 0 ? 0.0 : (double) n / rounds);
        // the draft model's forwards and prefill are calls this generation made
        Cost cost = new Cost(promptIds.length + draftCost.promptTokens(), n, forwards + draftCost.modelCalls(), 0, Duration.ofNanos(total));
        return new Generation(text.toString(), Arrays.copyOf(out, n), Arrays.copyOf(logprobs, n), finish, cost, trace);
    }

    /**
     * The correction draw after a rejection: from norm(max(0, p - q)); with a deterministic draft q is one-hot on
     * {@code x}, so it is p without x. If p - q has no positive mass (p == q up to rounding), from p.
     */
    static int residual(double[] p, double[] q, int x, SplittableRandom random) {
        double[] r = new double[p.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            double qi = q != null ? q[i] : (i == x ? 1.0 : 0.0);
            r[i] = Math.max(0.0, p[i] - qi);
            sum += r[i];
        }
        if (!(sum > 0)) {
            return DraftModelSource.draw(p, random);
        }
        for (int i = 0; i < r.length; i++) {
            r[i] /= sum;
        }
        return DraftModelSource.draw(r, random);
    }
}
