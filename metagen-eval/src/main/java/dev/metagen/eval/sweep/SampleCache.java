package dev.metagen.eval.sweep;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reuses leaf samples across the budgets of a sweep (as self-consistency evaluations subsample one large pool, Wang
 * et al., 2023). Inner call {@code i} of a strategy samples with a seed derived from the caller's seed and {@code i},
 * so the N=4 run of majority voting draws exactly the first 4 samples of the N=16 run: memoising leaf calls by
 * (leaf, prompt, parameters, seed) makes the smaller runs nearly free while their results and their reported
 * costs stay those of a run on its own. {@link #spent()} is what was really computed.
 */
public final class SampleCache {
    private record Key(String leaf, String prompt, GenerationParams params) {
    }

    private final ConcurrentHashMap<Key, CompletableFuture<Generation>> map = new ConcurrentHashMap<>();
    private volatile Cost spent = Cost.ZERO;
    private long hits;

    /** The leaves of {@code f}, memoised; a leaf is identified by its type and JSON path in the spec. */
    public LeafFactory wrap(LeafFactory f) {
        return new LeafFactory() {
            @Override
            public Set<String> types() {
                return f.types();
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return wrap(type + "@" + node.path(), f.create(type, node));
            }
        };
    }

    Generator wrap(String leaf, Generator g) {
        return (prompt, params) -> {
            Key k = new Key(leaf, prompt.text(), params);
            CompletableFuture<Generation> mine = new CompletableFuture<>();
            CompletableFuture<Generation> prior = map.putIfAbsent(k, mine);
            if (prior != null) {
                try {
                    Generation hit = prior.join();
                    synchronized (this) {
                        hits++;
                    }
                    return hit;
                } catch (CompletionException e) {
                    // the first call failed or was cut off: compute afresh below
                }
            }
            try {
                Generation out = g.generate(prompt, params);
                synchronized (this) {
                    spent = spent.plus(out.cost());
                }
                if (out.finish() == FinishReason.CANCELLED || out.finish() == FinishReason.BUDGET) {
                    // cut off by this run's own limits: another run must not see the truncated sample
                    map.remove(k, mine);
                    mine.completeExceptionally(new IllegalStateException("cut off"));
                } else if (prior == null) {
                    mine.complete(out);
                }
                return out;
            } catch (RuntimeException | Error e) {
                map.remove(k, mine);
                mine.completeExceptionally(e);
                throw e;
            }
        };
    }

    /** The cost of the leaf calls actually computed (cache misses) so far. */
    public synchronized Cost spent() {
        return spent;
    }

    public synchronized long hits() {
        return hits;
    }
}
