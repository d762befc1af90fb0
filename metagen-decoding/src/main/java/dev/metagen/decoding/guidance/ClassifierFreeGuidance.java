package dev.metagen.decoding.guidance;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.Sampler;

/**
 * Classifier-free guidance for language models (Sanchez et al., 2023, "Stay on topic with Classifier-Free
 * Guidance"): {@code log p_u(v) + gamma * (log p_c(v) - log p_u(v))}, where {@code p_c} is the main model on
 * the prompt and {@code p_u} the same model on an unconditional (or negative) prompt followed by the same
 * generated tokens. Gamma 1 is the plain model. Put this adapter first in the chain, as it replaces the logits.
 *
 * <p>Example:
 * <pre>{@code
 * int[] unconditional = {model.tokenizer().special().bos()};
 * SamplingGenerator guided = new SamplingGenerator(model).withProcessors((params, promptIds) -> {
 *     ClassifierFreeGuidance cfg = new ClassifierFreeGuidance(model, unconditional, 1.5);
 *     return new LogitsProcessors(List.of(cfg), null, cfg);   // a fresh adapter per generation, closed after it
 * });
 * Generation g = guided.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
 * }</pre>
 */
public final class ClassifierFreeGuidance implements Sampler, AutoCloseable {
    private final AuxiliaryModel unconditional;
    private final int[] unconditionalPrompt;
    private final double gamma;

    /**
     * Guidance on {@code model} against {@code unconditionalPrompt}.
     *
     * @param model the main model (its own state follows the unconditional context)
     * @param unconditionalPrompt the unconditional or negative prompt's ids (at least BOS)
     * @param gamma the guidance scale (1: the plain model)
     */
    public ClassifierFreeGuidance(LanguageModel model, int[] unconditionalPrompt, double gamma) {
        if (!Double.isFinite(gamma)) {
            throw new MetagenException("guidance scale must be a finite number, got " + gamma);
        }
        if (unconditionalPrompt.length == 0) {
            throw new MetagenException("the unconditional prompt needs at least one token (e.g. BOS)");
        }
        this.unconditional = new AuxiliaryModel(model, "unconditional");
        this.unconditionalPrompt = unconditionalPrompt.clone();
        this.gamma = gamma;
    }

    @Override
    public void begin(int[] promptIds) {
        unconditional.begin(unconditionalPrompt);
    }

    @Override
    public void apply(Candidates c) {
        double[] cond = LogSoftmax.of(c);
        double[] uncond = unconditional.logprobs(c);
        for (int i = 0; i < c.size(); i++) {
            double u = uncond[c.id(i)];
            double s = cond[i] == Double.NEGATIVE_INFINITY || u == Double.NEGATIVE_INFINITY
                    ? Double.NEGATIVE_INFINITY : u + gamma * (cond[i] - u);
            c.setLogit(i, (float) s);
        }
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        unconditional.advance(token);
    }

    @Override
    public void close() {
        unconditional.close();
    }

    @Override
    public dev.metagen.core.Cost cost() {
        return unconditional.cost();
    }
}
