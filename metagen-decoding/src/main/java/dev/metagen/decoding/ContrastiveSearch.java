package dev.metagen.decoding;

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

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Contrastive search (Su et al., 2022, "A Contrastive Framework for Neural Text Generation"): among the top
 * {@code k} tokens, pick {@code argmax (1 - alpha) p(v) - alpha max_j cos(h_v, h_j)}, where {@code h_v} is the
 * last layer's hidden state after appending {@code v} and {@code h_j} those of every earlier position (the
 * degeneration penalty). Needs {@link LanguageModel#lastHiddenState}.
 *
 * <p>Example:
 * <pre>{@code
 * Generator contrastive = new ContrastiveSearch(model, 4, 0.6);   // top 4, degeneration penalty 0.6
 * Generation g = contrastive.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(32));
 * }</pre>
 */
public final class ContrastiveSearch implements Generator {
    private final LanguageModel model;
    private final int k;
    private final double alpha;

    /**
     * Contrastive search over {@code model}.
     *
     * @param model a model that exposes hidden states
     * @param k the candidates considered per step, in [1, 1000]
     * @param alpha the degeneration penalty, in [0, 1] (0: greedy)
     */
    public ContrastiveSearch(LanguageModel model, int k, double alpha) {
        if (k < 1 || k > 1000) {
            throw new MetagenException("contrastive k must be in [1, 1000], got " + k);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new MetagenException("contrastive alpha must be in [0, 1], got " + alpha);
        }
        this.model = model;
        this.k = k;
        this.alpha = alpha;
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        return generate(model.tokenizer().encode(prompt.text(), params.addSpecial()), params);
    }

    /** The prompt goes in one forward per token (each position's hidden state is kept), then one per token. */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        return model.tokenizer().encode(prompt.text(), params.addSpecial()).length + (long) params.maxTokens();
    }

    /**
     * The contrastive score of every candidate (for tests and traces): {@code (1-alpha) p - alpha * maxSim}.
     *
     * @param alpha the degeneration penalty
     * @param p the candidate's probability
     * @param candidate the candidate's hidden state
     * @param context the hidden states of the earlier positions
     * @return the score
     */
    public static double score(double alpha, double p, float[] candidate, List<float[]> context) {
        double maxSim = Double.NEGATIVE_INFINITY;
        for (float[] h : context) {
            maxSim = Math.max(maxSim, cosine(candidate, h));
        }
        return (1 - alpha) * p - alpha * (context.isEmpty() ? 0 : maxSim);
    }

    /**
     * Cosine similarity (0 when either vector is zero).
     *
     * @param a a vector
     * @param b a vector of the same length
     * @return the similarity
     */
    public static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
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
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        Tokenizer tok = model.tokenizer();
        long t0 = System.nanoTime();
        List<float[]> context = new ArrayList<>();
        List<Integer> out = new ArrayList<>();
        List<Double> logprobs = new ArrayList<>();
        StreamingDecoder decoder = tok.streamingDecoder();
        StopStrings stops = new StopStrings(params.stop());
        StringBuilder text = new StringBuilder();
        FinishReason finish = FinishReason.LENGTH;
        long calls = 0;
        ModelState state = model.newState();
        try {
            // the prompt token by token: every position's hidden state joins the context
            Logits logits = null;
            for (int id : promptIds) {
                if (Thread.currentThread().isInterrupted()) {
                    break;
                }
                logits = model.forward(state, id);
                context.add(model.lastHiddenState(state));
                calls++;
            }
            while (out.size() < params.maxTokens()) {
                if (Thread.currentThread().isInterrupted()) {
                    // the caller (a meta-generator's cancellation or time budget) stops this generation before its
                    // next forward; the flag stays set for the caller to see
                    finish = FinishReason.CANCELLED;
                    break;
                }
                double[] lp = logits.logProbabilities();
                int[] top = TopLogprobs.topIndices(lp, k);
                int chosen = top[0];
                ModelState next = null;
                Logits nextLogits = null;
                float[] nextHidden = null;
                if (alpha > 0 && top.length > 1 && state.length() < ctx) {
                    List<ModelState> forks = new ArrayList<>();
                    List<int[]> feed = new ArrayList<>();
                    for (int v : top) {
                        forks.add(state.fork());
                        feed.add(new int[] {v});
                    }
                    List<Logits> ls = model.forward(forks, feed);
                    calls++;
                    double best = Double.NEGATIVE_INFINITY;
                    int bestIdx = 0;
                    for (int i = 0; i < top.length; i++) {
                        float[] h = model.lastHiddenState(forks.get(i));
                        double s = score(alpha, Math.exp(lp[top[i]]), h, context);
                        if (s > best) {
                            best = s;
                            bestIdx = i;
                            nextHidden = h;
                        }
                    }
                    chosen = top[bestIdx];
                    next = forks.get(bestIdx);
                    nextLogits = ls.get(bestIdx);
                    for (int i = 0; i < forks.size(); i++) {
                        if (i != bestIdx) {
                            forks.get(i).close();
                        }
                    }
                }
                if (tok.special().isEndOfGeneration(chosen)) {
                    if (next != null) {
                        next.close();
                    }
                    finish = FinishReason.STOP;
                    break;
                }
                out.add(chosen);
                logprobs.add(lp[chosen]);
                String piece = stops.accept(decoder.accept(chosen));
                text.append(piece);
                if (stops.stopped()) {
                    if (next != null) {
                        next.close();
                    }
                    finish = FinishReason.STOP;
                    break;
                }
                if (out.size() == params.maxTokens() || state.length() >= ctx) {
                    if (next != null) {
                        next.close();
                    }
                    break;
                }
                if (next == null) {
                    // greedy step (alpha 0, k 1): advance the state itself
                    nextLogits = model.forward(state, chosen);
                    calls++;
                    context.add(model.lastHiddenState(state));
                } else {
                    state.close();
                    state = next;
                    context.add(nextHidden);
                }
                logits = nextLogits;
            }
        } finally {
            state.close();
        }
        if (!stops.stopped()) {
            text.append(stops.accept(decoder.flush())).append(stops.flush());
        }
        long nanos = System.nanoTime() - t0;
        int[] tokens = out.stream().mapToInt(Integer::intValue).toArray();
        double[] lps = logprobs.stream().mapToDouble(Double::doubleValue).toArray();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("prompt_ids", promptIds);
        trace.put("prefill_ms", 0.0);
        trace.put("decode_ms", nanos / 1e6);
        trace.put("prefill_tokens_per_s", 0.0);
        trace.put("decode_tokens_per_s", SamplingGenerator.rate(tokens.length, nanos));
        trace.put("contrastive", Map.of("k", k, "alpha", alpha));
        return new Generation(text.toString(), tokens, lps, finish, new Cost(promptIds.length, tokens.length, calls, 0,
                Duration.ofNanos(nanos)), trace);
    }
}
