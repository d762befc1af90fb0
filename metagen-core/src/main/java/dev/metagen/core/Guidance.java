package dev.metagen.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adapters that shape a generation's next-token distribution with other distributions (Welleck et al. 2024,
 * section 3.1.3): classifier-free guidance against an unconditional context (Sanchez et al. 2023), contrastive
 * decoding against an amateur model (Li et al. 2023) and a product of experts (Hinton 2002; Liu et al. 2021).
 * Models are named by reference (a name of the run's model registry or a model path), resolved by the leaf.
 *
 * @param cfgScale          guidance scale; 1 = off
 * @param cfgNegativePrompt the unconditional context ("" = BOS alone)
 * @param amateur           the amateur model of contrastive decoding, or null
 * @param cdAlpha           contrastive decoding's plausibility threshold in (0, 1]
 * @param experts           further models whose log-probabilities are added
 * @param expertWeights     one weight per expert (negative: an anti-expert)
 */
public record Guidance(double cfgScale, String cfgNegativePrompt, String amateur, double cdAlpha,
                       List<String> experts, List<Double> expertWeights) {
    public static final Guidance NONE = new Guidance(1.0, "", null, 0.1, List.of(), List.of());

    /** Checks every value (scale and weights finite, {@code cdAlpha} in (0, 1], one weight per expert). */
    public Guidance {
        cfgNegativePrompt = cfgNegativePrompt == null ? "" : cfgNegativePrompt;
        experts = List.copyOf(experts);
        expertWeights = expertWeights.isEmpty() ? List.copyOf(Collections.nCopies(experts.size(), 1.0)) : List.copyOf(expertWeights);
        if (!Double.isFinite(cfgScale)) {
            throw new MetagenException("cfg_scale must be a finite number, got " + cfgScale);
        }
        if (!(cdAlpha > 0 && cdAlpha <= 1)) {
            throw new MetagenException("cd_alpha must be in (0, 1], got " + cdAlpha);
        }
        if (expertWeights.size() != experts.size()) {
            throw new MetagenException("expert_weights has " + expertWeights.size() + " entries for " + experts.size() + " experts");
        }
        for (double w : expertWeights) {
            if (!Double.isFinite(w)) {
                throw new MetagenException("expert weights must be finite numbers, got " + w);
            }
        }
        if (amateur != null && amateur.isBlank()) {
            throw new MetagenException("amateur must name a model");
        }
    }

    /**
     * True when no adapter is on.
     *
     * @return whether every adapter is off
     */
    public boolean isNone() {
        return cfgScale == 1.0 && amateur == null && experts.isEmpty();
    }

    /**
     * The same adapters with classifier-free guidance set.
     *
     * @param scale guidance scale (1: off)
     * @param negativePrompt the unconditional context ("" = BOS alone)
     * @return the new adapters
     */
    public Guidance withCfg(double scale, String negativePrompt) {
        return new Guidance(scale, negativePrompt, amateur, cdAlpha, experts, expertWeights);
    }

    /**
     * The same adapters with contrastive decoding against {@code model}.
     *
     * @param model the amateur model's reference, or null for off
     * @param alpha the plausibility threshold in (0, 1]
     * @return the new adapters
     */
    public Guidance withAmateur(String model, double alpha) {
        return new Guidance(cfgScale, cfgNegativePrompt, model, alpha, experts, expertWeights);
    }

    /**
     * The same adapters with a product of experts.
     *
     * @param models the experts' references
     * @param weights one weight per expert (empty: all 1)
     * @return the new adapters
     */
    public Guidance withExperts(List<String> models, List<Double> weights) {
        return new Guidance(cfgScale, cfgNegativePrompt, amateur, cdAlpha, models, weights);
    }

    /**
     * JSON-friendly description of what is on, for traces.
     *
     * @return the non-neutral settings by field name
     */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (cfgScale != 1.0) {
            m.put("cfg_scale", cfgScale);
        }
        if (amateur != null) {
            m.put("amateur", amateur);
            m.put("cd_alpha", cdAlpha);
        }
        if (!experts.isEmpty()) {
            m.put("experts", experts);
            m.put("expert_weights", expertWeights);
        }
        return m;
    }
}
