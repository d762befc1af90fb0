package dev.metagen.runtime;

import dev.metagen.control.ConstrainedGenerator;
import dev.metagen.control.Constraints;
import dev.metagen.control.TokenConstraint;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.OutputConstraint;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.LogitsProcessors;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.decoding.GuidanceProcessors;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Sampling (or greedy decoding) over one model with every parameter of the call: the sampler chain of its
 * {@link dev.metagen.core.SamplingConfig}, guidance adapters over the registry's models, and its output constraint
 * compiled for the model's vocabulary (cached per constraint) as a mask at the head of the chain. The leaf behind
 * the {@code sample}, {@code greedy} and {@code constrained} spec types and the CLI's and server's plain generations.
 */
public final class ModelLeaf implements Generator {
    private static final int CACHED_CONSTRAINTS = 32;

    private final LanguageModel model;
    private final boolean parseSpecial;
    private final SamplingGenerator loop;
    private final Map<OutputConstraint, TokenConstraint> compiled = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<OutputConstraint, TokenConstraint> e) {
                    return size() > CACHED_CONSTRAINTS;
                }
            });

    /**
     * @param parseSpecial whether prompt text is read with special-token text as those tokens (a prompt rendered by
     *                     a chat template carries {@code <|im_start|>} and the like)
     */
    public ModelLeaf(LanguageModel model, ModelRegistry models, boolean parseSpecial) {
        this(model, models, parseSpecial, (params, ids) -> java.util.List.of());
    }

    /**
     * @param then builds, for each generation, processors that run after the constraint mask on the tokens it
     *             allows (e.g. a FUDGE discriminator)
     */
    public ModelLeaf(LanguageModel model, ModelRegistry models, boolean parseSpecial,
                     java.util.function.BiFunction<GenerationParams, int[], java.util.List<dev.metagen.decoding.sampling.Sampler>> then) {
        this.model = model;
        this.parseSpecial = parseSpecial;
        GuidanceProcessors guidance = new GuidanceProcessors(model, models::get);
        this.loop = new SamplingGenerator(model).withProcessors(
                (params, ids) -> processors(guidance, params, ids).followedBy(then.apply(params, ids)));
    }

    public LanguageModel model() {
        return model;
    }

    /** Compiles (or finds) the token constraint of {@code c} for this model's vocabulary. */
    public TokenConstraint constraint(OutputConstraint c) {
        TokenConstraint t = compiled.get(c);
        if (t == null) {
            try {
                t = Constraints.compile(c, model.tokenizer());
            } catch (IllegalArgumentException | StackOverflowError e) {
                // a pattern, grammar or schema that does not compile (or nests beyond reason) is the caller's error
                throw new dev.metagen.core.MetagenException("invalid " + c.kind().field() + ": "
                        + dev.metagen.core.MetagenException.describe(e));
            }
            compiled.put(c, t);
        }
        return t;
    }

    private LogitsProcessors processors(GuidanceProcessors guidance, GenerationParams params, int[] ids) {
        LogitsProcessors g = guidance.create(params, ids);
        if (params.constraint() == null) {
            return g;
        }
        try {
            TokenConstraint c = constraint(params.constraint());
            return new ConstrainedGenerator(model, c).processors(c.start(), g);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        return generate(prompt, params, t -> {});
    }

    /** Generates, passing each piece of final text to {@code onText} (which may throw to stop the generation). */
    public Generation generate(Prompt prompt, GenerationParams params, Consumer<String> onText) {
        return generate(encode(prompt, params), params, onText);
    }

    public Generation generate(int[] promptIds, GenerationParams params, Consumer<String> onText) {
        if (params.constraint() != null) {
            constraint(params.constraint()); // a constraint that does not compile fails before the prefill
        }
        return loop.generate(promptIds, params, onText);
    }

    /** Every step may also run the guidance contexts (unconditional, amateur, experts) one forward each. */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        dev.metagen.core.Guidance g = params.guidance();
        long contexts = 1 + (g.cfgScale() != 1.0 ? 1 : 0) + (g.amateur() != null ? 1 : 0) + g.experts().size();
        return contexts * params.maxTokens();
    }

    /** {@code n} samples of one prompt, computed once and forked (sample {@code i} draws with seed {@code seed + i}). */
    public java.util.List<Generation> generateN(int[] promptIds, GenerationParams params, int n) {
        if (params.constraint() != null) {
            constraint(params.constraint());
        }
        return loop.generateN(promptIds, params, n);
    }

    int[] encode(Prompt p, GenerationParams params) {
        return model.tokenizer().encode(p.text(), params.addSpecial(), parseSpecial);
    }
}
