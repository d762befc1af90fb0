package dev.metagen.control.sequence;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Rejection sampling against a predicate or verifier (Welleck et al. 2024, section 3.3): draws from the inner
 * generator (a new seed per attempt) until an output is accepted or the attempts run out; the cost is the sum
 * over all attempts. When none is accepted the last draw is returned with finish reason BUDGET.
 */
public final class RejectionSampler implements Generator {
    private final Generator inner;
    private final Predicate<Generation> accept;
    private final int maxAttempts;

    /**
     * Rejection sampling from {@code inner}.
     *
     * @param inner the generator drawn from
     * @param accept whether an output is accepted
     * @param maxAttempts the most draws ({@code >= 1})
     */
    public RejectionSampler(Generator inner, Predicate<Generation> accept, int maxAttempts) {
        if (maxAttempts < 1) {
            throw new MetagenException("rejection sampling needs at least one attempt, got " + maxAttempts);
        }
        this.inner = inner;
        this.accept = accept;
        this.maxAttempts = maxAttempts;
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        Cost total = Cost.ZERO;
        Generation last = null;
        for (int i = 0; i < maxAttempts; i++) {
            GenerationParams p = params.withSampling(params.temperature(), params.topK(), params.topP(), params.seed() + i);
            last = inner.generate(prompt, p);
            total = total.plus(last.cost());
            if (accept.test(last)) {
                return with(last, total, i + 1, true, last.finish());
            }
        }
        return with(last, total, maxAttempts, false, FinishReason.BUDGET);
    }

    private static Generation with(Generation g, Cost total, int attempts, boolean accepted, FinishReason finish) {
        Map<String, Object> trace = new LinkedHashMap<>(g.trace());
        trace.put("attempts", attempts);
        trace.put("accepted", accepted);
        return new Generation(g.text(), g.tokens(), g.logprobs(), finish, total, trace);
    }
}
