package dev.metagen.decoding;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.Guidance;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.guidance.ClassifierFreeGuidance;
import dev.metagen.decoding.guidance.ContrastiveDecoding;
import dev.metagen.decoding.guidance.ProductOfExperts;
import dev.metagen.decoding.sampling.Sampler;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Builds the guidance adapters a call's {@link Guidance} asks for, fresh for each generation (they follow the
 * sequence in model states of their own): classifier-free guidance on the same model (Sanchez et al. 2023),
 * contrastive decoding against an amateur (Li et al. 2023), a product of experts (Hinton 2002). Other models are
 * resolved by reference with {@code models} (a name of the run's registry or a path); their owner closes them.
 *
 * <p>Example:
 * <pre>{@code
 * Generator generator = new SamplingGenerator(model).withProcessors(new GuidanceProcessors(model, registry::get));
 * GenerationParams params = GenerationParams.greedy(24).withGuidance(Guidance.NONE.withCfg(1.5, ""));
 * Generation g = generator.generate(Prompt.of("Once upon a time"), params);
 * }</pre>
 */
public final class GuidanceProcessors implements LogitsProcessors.Factory {
    private final LanguageModel model;
    private final Function<String, LanguageModel> models;

    /**
     * A factory for {@code model}'s generations.
     *
     * @param model the main model
     * @param models opens other models by reference (registry name or path)
     */
    public GuidanceProcessors(LanguageModel model, Function<String, LanguageModel> models) {
        this.model = model;
        this.models = models;
    }

    @Override
    public LogitsProcessors create(GenerationParams params, int[] promptIds) {
        Guidance g = params.guidance();
        if (g.isNone()) {
            return LogitsProcessors.NONE;
        }
        List<Sampler> adapters = new ArrayList<>();
        List<AutoCloseable> open = new ArrayList<>();
        try {
            if (g.cfgScale() != 1.0) {
                // the unconditional context: the negative prompt, or BOS alone
                int[] negative = model.tokenizer().encode(g.cfgNegativePrompt(), params.addSpecial());
                if (negative.length == 0) {
                    throw new MetagenException("cfg_negative_prompt is empty and the model adds no BOS: guidance needs an unconditional context");
                }
                ClassifierFreeGuidance cfg = new ClassifierFreeGuidance(model, negative, g.cfgScale());
                open.add(cfg);
                adapters.add(cfg);
            }
            if (g.amateur() != null) {
                ContrastiveDecoding cd = new ContrastiveDecoding(resolve(g.amateur()), g.cdAlpha());
                open.add(cd);
                adapters.add(cd);
            }
            if (!g.experts().isEmpty()) {
                List<LanguageModel> experts = new ArrayList<>();
                for (String ref : g.experts()) {
                    experts.add(resolve(ref));
                }
                ProductOfExperts poe = new ProductOfExperts(1.0, experts, g.expertWeights());
                open.add(poe);
                adapters.add(poe);
            }
        } catch (RuntimeException e) {
            closeAll(open);
            throw e;
        }
        return new LogitsProcessors(adapters, null, () -> closeAll(open));
    }

    private LanguageModel resolve(String ref) {
        LanguageModel m = models.apply(ref);
        if (m.tokenizer().vocabSize() != model.tokenizer().vocabSize()) {
            throw new MetagenException("guidance model '" + ref + "' has a vocabulary of " + m.tokenizer().vocabSize()
                    + " tokens, the generating model " + model.tokenizer().vocabSize() + ": they must share one");
        }
        return m;
    }

    private static void closeAll(List<AutoCloseable> open) {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // closing releases model states only
            }
        }
    }
}
