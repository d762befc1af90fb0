package dev.metagen.decoding.speculative;

import dev.metagen.core.MetagenException;
import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.MinPSampler;
import dev.metagen.decoding.sampling.Sampler;
import dev.metagen.decoding.sampling.SamplerChain;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.sampling.TemperatureSampler;
import dev.metagen.decoding.sampling.TopKSampler;
import dev.metagen.decoding.sampling.TopPSampler;

import java.util.List;

/**
 * The distribution a sampler chain draws the next token from, as a full-vocabulary probability vector, so that
 * speculative sampling's rejection rule (Chen et al. 2023) can compare target and draft probabilities. Only the
 * stateless, history-free adapters are supported: temperature, top-k, top-p and min-p; the others (penalties,
 * DRY, mirostat, XTC, logit bias, ...) depend on the tokens drawn or on random state and are rejected.
 */
public final class TargetDistribution {
    private final List<Sampler> samplers;

    private TargetDistribution(List<Sampler> samplers) {
        this.samplers = samplers;
    }

    /**
     * The adapters of {@code config}; throws when it uses one speculative sampling cannot reproduce.
     *
     * @param config the target's sampling knobs
     * @return the distribution
     */
    public static TargetDistribution of(SamplingConfig config) {
        SamplerChain chain = SamplerChain.build(config, null, List.of());
        for (Sampler s : chain.samplers()) {
            if (!(s instanceof TemperatureSampler || s instanceof TopKSampler || s instanceof TopPSampler
                    || s instanceof MinPSampler)) {
                throw new MetagenException("speculative sampling supports only temperature, top-k, top-p and min-p, "
                        + "not " + s.getClass().getSimpleName());
            }
        }
        return new TargetDistribution(chain.samplers());
    }

    /**
     * The adapted next-token probabilities over the whole vocabulary (zeros for filtered tokens).
     *
     * @param logits the target's logits
     * @return the probabilities
     */
    public double[] probabilities(float[] logits) {
        Candidates c = Candidates.of(logits);
        for (Sampler s : samplers) {
            s.apply(c);
        }
        double[] kept = c.probabilities();
        double[] p = new double[logits.length];
        for (int i = 0; i < c.size(); i++) {
            p[c.id(i)] = kept[i];
        }
        return p;
    }
}
