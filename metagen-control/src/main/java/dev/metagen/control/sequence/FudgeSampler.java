package dev.metagen.control.sequence;

import dev.metagen.core.Cost;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.Sampler;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * FUDGE (Yang and Klein, 2021) as one processor of the sampler chain: the {@code candidates} most likely next tokens
 * get {@code lambda * log p(attribute | prefix + token)} from a future discriminator added to their logits, the rest
 * are dropped; the chain's own samplers (temperature ...) run after it. One instance follows one sequence; each
 * discriminator call is counted as a tool call of the generation.
 *
 * <p>Example:
 * <pre>{@code
 * PartialScorer likesCats = text -> text.contains("cat") ? 0 : -2;   // log p(attribute | text)
 * SamplingGenerator fudge = new SamplingGenerator(model).withProcessors((params, promptIds) -> new LogitsProcessors(
 *         List.of(), null, List.of(new FudgeSampler(model.tokenizer(), likesCats, 8, 1.0)), null));
 * Generation g = fudge.generate(Prompt.of("Once upon a time"), GenerationParams.of(24, new SamplingConfig().seed(3)));
 * // each discriminator call counts as a tool call of g.cost()
 * }</pre>
 */
public final class FudgeSampler implements Sampler {
    private final Tokenizer tokenizer;
    private final PartialScorer scorer;
    private final int candidates;
    private final double lambda;
    private final ByteArrayOutputStream prefix = new ByteArrayOutputStream();
    private long scorerCalls;

    /**
     * A FUDGE processor for one sequence.
     *
     * @param tokenizer the model's tokenizer (token bytes)
     * @param scorer the future discriminator
     * @param candidates how many next tokens are rescored ({@code >= 1})
     * @param lambda the discriminator's weight (finite)
     */
    public FudgeSampler(Tokenizer tokenizer, PartialScorer scorer, int candidates, double lambda) {
        if (candidates < 1) {
            throw new dev.metagen.core.MetagenException("FUDGE needs candidates >= 1, got " + candidates);
        }
        if (!Double.isFinite(lambda)) {
            throw new dev.metagen.core.MetagenException("FUDGE's lambda must be a finite number, got " + lambda);
        }
        this.tokenizer = tokenizer;
        this.scorer = scorer;
        this.candidates = candidates;
        this.lambda = lambda;
    }

    @Override
    public void apply(Candidates c) {
        c.keepTop(candidates);
        byte[] before = prefix.toByteArray();
        for (int i = 0; i < c.size(); i++) {
            int t = c.id(i);
            byte[] text = before;
            if (!tokenizer.special().isEndOfGeneration(t)) {
                byte[] tb = tokenizer.tokenBytes(t);
                text = Arrays.copyOf(before, before.length + tb.length);
                System.arraycopy(tb, 0, text, before.length, tb.length);
            }
            double bonus = lambda * scorer.logScore(new String(text, StandardCharsets.UTF_8));
            scorerCalls++;
            c.setLogit(i, (float) (c.logit(i) + bonus));
        }
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        if (!tokenizer.special().isEndOfGeneration(token)) {
            prefix.writeBytes(tokenizer.tokenBytes(token));
        }
    }

    @Override
    public Cost cost() {
        return new Cost(0, 0, 0, scorerCalls, Duration.ZERO);
    }
}
