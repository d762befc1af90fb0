package dev.metagen.meta.spec;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;

import java.util.List;

/**
 * A leaf generator with some generation parameters fixed by the spec (e.g. {@code "temperature": 0.7}); the seed
 * always comes from the caller, stop strings are added to the caller's, so that parallel strategies can vary it. Null fields keep the caller's value.
 */
public record ParamsOverride(Generator inner, Integer maxTokens, Double temperature, Integer topK, Double topP,
                             List<String> stop) implements Generator {
    @Override
    public Generation generate(Prompt prompt, GenerationParams p) {
        return inner.generate(prompt, apply(p));
    }

    /** The inner generator's bounds under the parameters it will really get. */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams p) {
        return inner.maxModelCalls(prompt, apply(p));
    }

    @Override
    public long maxGeneratedTokens(Prompt prompt, GenerationParams p) {
        return inner.maxGeneratedTokens(prompt, apply(p));
    }

    private GenerationParams apply(GenerationParams p) {
        GenerationParams q = p.withSampling(temperature != null ? temperature : p.temperature(),
                topK != null ? topK : p.topK(), topP != null ? topP : p.topP(), p.seed());
        if (maxTokens != null) {
            q = q.withMaxTokens(Math.min(maxTokens, p.maxTokens()));
        }
        if (stop != null) {
            List<String> all = new java.util.ArrayList<>(p.stop()); // the caller's stops (e.g. a step delimiter) stay
            all.addAll(stop);
            q = q.withStop(all);
        }
        return q;
    }
}
