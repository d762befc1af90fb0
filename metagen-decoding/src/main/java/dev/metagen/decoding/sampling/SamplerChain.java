package dev.metagen.decoding.sampling;

import dev.metagen.core.GenerationParams;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * An ordered list of {@link Sampler}s followed by the final choice: argmax when greedy, otherwise a draw
 * from the softmax of the adapted candidates (ancestral sampling). The order follows llama.cpp's default
 * chain (top-k, top-p, then temperature, then the draw).
 */
public final class SamplerChain {
    private final List<Sampler> samplers;
    private final boolean greedy;
    private final SplittableRandom random;

    public SamplerChain(List<Sampler> samplers, boolean greedy, long seed) {
        this.samplers = List.copyOf(samplers);
        this.greedy = greedy;
        this.random = new SplittableRandom(seed);
    }

    /** The chain for {@link GenerationParams}: temperature 0 is greedy; top-k 0 and top-p 1 are off. */
    public static SamplerChain from(GenerationParams p) {
        if (p.temperature() == 0) {
            return new SamplerChain(List.of(), true, p.seed());
        }
        List<Sampler> s = new ArrayList<>();
        if (p.topK() > 0) {
            s.add(new TopKSampler(p.topK()));
        }
        if (p.topP() < 1) {
            s.add(new TopPSampler(p.topP()));
        }
        s.add(new TemperatureSampler(p.temperature()));
        return new SamplerChain(s, false, p.seed());
    }

    public List<Sampler> samplers() {
        return samplers;
    }

    public boolean isGreedy() {
        return greedy;
    }

    /** Picks the next token from the model's logits. */
    public int sample(float[] logits) {
        Candidates c = Candidates.of(logits);
        if (greedy) {
            return c.id(c.argmax());
        }
        for (Sampler s : samplers) {
            s.apply(c);
        }
        double[] probs = c.probabilities();
        double u = random.nextDouble();
        double cum = 0;
        for (int i = 0; i < probs.length; i++) {
            cum += probs[i];
            if (u < cum) {
                return c.id(i);
            }
        }
        // rounding left u above the last cumulative sum: take the last token with non-zero probability
        for (int i = probs.length - 1; i >= 0; i--) {
            if (probs[i] > 0) {
                return c.id(i);
            }
        }
        return c.id(0);
    }
}
