package dev.metagen.client;

import dev.metagen.core.Generator;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;

import java.util.Set;

/**
 * The leaves of strategy specs over a {@link RemoteGenerator}, so any spec (best-of-N, voting, search, refinement;
 * Welleck et al., 2024, section 4) runs against a remote model: {@code sample} samples with each call's settings,
 * {@code greedy} is the same at temperature 0. Token-level leaves ({@code beam}, {@code contrastive},
 * {@code constrained}) need the model's logits and are not offered.
 */
public final class RemoteLeaves implements LeafFactory {
    private final RemoteGenerator remote;

    public RemoteLeaves(RemoteGenerator remote) {
        this.remote = remote;
    }

    @Override
    public Set<String> types() {
        return Set.of("sample", "greedy");
    }

    @Override
    public Generator create(String type, SpecNode node) {
        return switch (type) {
            case "sample" -> remote;
            case "greedy" -> (p, params) -> remote.generate(p, params.withSampling(0, 0, 1.0, params.seed()));
            default -> throw new IllegalArgumentException("not a remote leaf: " + type);
        };
    }
}
