package dev.metagen.decoding.guidance;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.Sampler;

/**
 * Contrastive decoding (Li et al., 2023, "Contrastive Decoding: Open-ended Text Generation as Optimization"):
 * the score of {@code v} is {@code log p_expert(v) - log p_amateur(v)} over the plausible tokens
 * {@code p_expert(v) >= alpha * max p_expert}, and -infinity elsewhere. The main model is the expert; put this
 * adapter first in the chain, as it replaces the logits.
 *
 * <p>Example:
 * <pre>{@code
 * SamplingGenerator contrastive = new SamplingGenerator(expert).withProcessors((params, promptIds) -> {
 *     ContrastiveDecoding cd = new ContrastiveDecoding(amateur, 0.1);
 *     return new LogitsProcessors(List.of(cd), null, cd);
 * });
 * Generation g = contrastive.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
 * }</pre>
 */
public final class ContrastiveDecoding implements Sampler, AutoCloseable {
    private final AuxiliaryModel amateur;
    private final double alpha;

    /**
     * Contrastive decoding against {@code amateur}.
     *
     * @param amateur the amateur model (same vocabulary as the expert)
     * @param alpha the plausibility threshold, in (0, 1]
     */
    public ContrastiveDecoding(LanguageModel amateur, double alpha) {
        if (!(alpha > 0 && alpha <= 1)) {
            throw new MetagenException("contrastive decoding plausibility alpha must be in (0, 1], got " + alpha);
        }
        this.amateur = new AuxiliaryModel(amateur, "amateur");
        this.alpha = alpha;
    }

    @Override
    public void begin(int[] promptIds) {
        amateur.begin(promptIds);
    }

    @Override
    public void apply(Candidates c) {
        double[] expert = LogSoftmax.of(c);
        double[] am = amateur.logprobs(c);
        double max = Double.NEGATIVE_INFINITY;
        for (double e : expert) {
            max = Math.max(max, e);
        }
        double cutoff = max + Math.log(alpha);
        for (int i = 0; i < c.size(); i++) {
            c.setLogit(i, expert[i] >= cutoff ? (float) (expert[i] - am[c.id(i)]) : Float.NEGATIVE_INFINITY);
        }
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        amateur.advance(token);
    }

    @Override
    public void close() {
        amateur.close();
    }

    @Override
    public dev.metagen.core.Cost cost() {
        return amateur.cost();
    }
}
