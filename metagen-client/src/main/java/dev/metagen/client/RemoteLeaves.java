package dev.metagen.client;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecException;

import java.util.Set;

/**
 * The leaves of strategy specs over a {@link RemoteGenerator}, so any spec (best-of-N, voting, search, refinement;
 * Welleck et al., 2024, section 4) runs against a remote model: {@code sample} samples with each call's settings,
 * {@code greedy} is the same at temperature 0, {@code constrained} is a sample leaf that names a regex, grammar,
 * JSON Schema or JSON object, sent to the server. Every setting travels as a request field or is refused at the call
 * ({@link RemoteGenerator}); leaves that need the model's logits ({@code beam}, {@code contrastive} ...) are not offered.
 */
public final class RemoteLeaves implements LeafFactory {
    private final RemoteGenerator remote;

    public RemoteLeaves(RemoteGenerator remote) {
        this.remote = remote;
    }

    @Override
    public Set<String> types() {
        return Set.of("sample", "greedy", "constrained");
    }

    @Override
    public Generator create(String type, SpecNode node) {
        return switch (type) {
            case "sample" -> remote;
            case "greedy" -> greedy(remote);
            case "constrained" -> {
                if (GenerationFields.constraint(node.peek(GenerationFields.CONSTRAINT), node.path()) == null) {
                    throw new StrategySpecException(node.path(), "a constrained leaf needs one of regex, grammar, json_schema, json_object");
                }
                yield remote;
            }
            default -> throw new IllegalArgumentException("not a remote leaf: " + type);
        };
    }

    /** {@code g} at temperature 0 (every other setting of the call stays, as for a local greedy leaf). */
    public static Generator greedy(Generator g) {
        return new Generator() {
            @Override
            public Generation generate(Prompt prompt, GenerationParams params) {
                return g.generate(prompt, params.withSampling(params.sampling().temperature(0)));
            }

            @Override
            public long maxModelCalls(Prompt prompt, GenerationParams params) {
                return g.maxModelCalls(prompt, params.withSampling(params.sampling().temperature(0)));
            }

            @Override
            public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
                return g.maxGeneratedTokens(prompt, params);
            }
        };
    }
}
