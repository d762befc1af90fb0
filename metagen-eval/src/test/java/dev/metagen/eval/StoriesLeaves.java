package dev.metagen.eval;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Generator;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;

import java.util.Set;

/** The {@code sample} and {@code greedy} leaves over the real stories260K model, as the CLI builds them. */
public final class StoriesLeaves implements LeafFactory {
    private final TransformerModel model;

    public StoriesLeaves(TransformerModel model) {
        this.model = model;
    }

    public static TransformerModel load() {
        return TransformerModel.load(SharedData.path("models/stories260K.gguf"), new ModelOptions(1, 512));
    }

    @Override
    public Set<String> types() {
        return Set.of("sample", "greedy");
    }

    @Override
    public Generator create(String type, SpecNode node) {
        SamplingGenerator g = new SamplingGenerator(model);
        return type.equals("greedy") ? (p, params) -> g.generate(p, params.withSampling(0, 0, 1.0, params.seed())) : g;
    }
}
