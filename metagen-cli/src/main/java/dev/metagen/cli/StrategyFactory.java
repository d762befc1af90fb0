package dev.metagen.cli;

import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecs;

import java.util.Set;

/**
 * Fills in the leaf generators of strategy specs (DESIGN.md section 2: meta cannot see decoding or the engine, the
 * CLI sees everything): {@code sample} is ancestral sampling with the caller's settings (a spec may fix
 * temperature, top_k, top_p, max_tokens, stop), {@code greedy} is the same at temperature 0.
 */
final class StrategyFactory implements LeafFactory {
    private final LanguageModel model;

    StrategyFactory(LanguageModel model) {
        this.model = model;
    }

    /** A parser whose leaves are not built yet: used to check a spec before the model is loaded. */
    static StrategySpecs validator() {
        return new StrategySpecs(new LeafFactory() {
            @Override
            public Set<String> types() {
                return Set.of("sample", "greedy");
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return (p, params) -> {
                    throw new IllegalStateException("validation only");
                };
            }
        });
    }

    @Override
    public Set<String> types() {
        return Set.of("sample", "greedy");
    }

    @Override
    public Generator create(String type, SpecNode node) {
        SamplingGenerator g = new SamplingGenerator(model);
        return switch (type) {
            case "sample" -> g;
            case "greedy" -> (p, params) -> g.generate(p, params.withSampling(0, 0, 1.0, params.seed()));
            default -> throw new IllegalArgumentException("not a leaf: " + type);
        };
    }
}
