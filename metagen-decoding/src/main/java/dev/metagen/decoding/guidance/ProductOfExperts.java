package dev.metagen.decoding.guidance;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.Sampler;

import java.util.ArrayList;
import java.util.List;

/**
 * Product of experts (Hinton, 2002) as logit arithmetic, as in DExperts (Liu et al., 2021, "DExperts:
 * Decoding-Time Controlled Text Generation with Experts and Anti-Experts"): the score of {@code v} is
 * {@code w_0 log p_main(v) + sum_i w_i log p_i(v)}; a negative weight makes model i an anti-expert. Put this
 * adapter first in the chain, as it replaces the logits.
 *
 * <p>Example:
 * <pre>{@code
 * SamplingGenerator steered = new SamplingGenerator(model).withProcessors((params, promptIds) -> {
 *     ProductOfExperts poe = new ProductOfExperts(1.0, List.of(antiExpert), List.of(-0.5));
 *     return new LogitsProcessors(List.of(poe), null, poe);
 * });
 * Generation g = steered.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
 * }</pre>
 */
public final class ProductOfExperts implements Sampler, AutoCloseable {
    private final double mainWeight;
    private final List<AuxiliaryModel> others = new ArrayList<>();
    private final double[] weights;

    /**
     * A product of the main model and {@code models}.
     *
     * @param mainWeight the main model's weight
     * @param models the other models (same vocabulary)
     * @param weights one weight per other model (negative: an anti-expert)
     */
    public ProductOfExperts(double mainWeight, List<LanguageModel> models, List<Double> weights) {
        if (models.size() != weights.size() || models.isEmpty()) {
            throw new MetagenException("product of experts needs one weight per extra model, got " + models.size()
                    + " models and " + weights.size() + " weights");
        }
        if (!Double.isFinite(mainWeight) || weights.stream().anyMatch(w -> !Double.isFinite(w))) {
            throw new MetagenException("product-of-experts weights must be finite numbers, got " + mainWeight + " and " + weights);
        }
        this.mainWeight = mainWeight;
        for (int i = 0; i < models.size(); i++) {
            others.add(new AuxiliaryModel(models.get(i), "expert " + (i + 1)));
        }
        this.weights = weights.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Override
    public void begin(int[] promptIds) {
        for (AuxiliaryModel m : others) {
            m.begin(promptIds);
        }
    }

    @Override
    public void apply(Candidates c) {
        double[] main = LogSoftmax.of(c);
        double[] score = new double[c.size()];
        for (int i = 0; i < score.length; i++) {
            score[i] = mainWeight * main[i];
        }
        for (int m = 0; m < others.size(); m++) {
            double[] lp = others.get(m).logprobs(c);
            for (int i = 0; i < score.length; i++) {
                // 0 * -inf would be NaN: a zero weight ignores the model
                if (weights[m] != 0) {
                    score[i] += weights[m] * lp[c.id(i)];
                }
            }
        }
        for (int i = 0; i < score.length; i++) {
            c.setLogit(i, Double.isNaN(score[i]) || score[i] == Double.POSITIVE_INFINITY ? Float.NEGATIVE_INFINITY : (float) score[i]);
        }
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        for (AuxiliaryModel m : others) {
            m.advance(token);
        }
    }

    @Override
    public void close() {
        others.forEach(AuxiliaryModel::close);
    }

    @Override
    public dev.metagen.core.Cost cost() {
        dev.metagen.core.Cost c = dev.metagen.core.Cost.ZERO;
        for (AuxiliaryModel m : others) {
            c = c.plus(m.cost());
        }
        return c;
    }
}
