package dev.metagen.meta;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A generator that calls other generators (Welleck et al., 2024, section 4). Subclasses implement
 * {@link #search}; this class gives every call a {@link Scope}, sums the cost, stamps the strategy name into the
 * trace and turns a spent budget or a cancellation into a clean result with {@link FinishReason#BUDGET} or
 * {@link FinishReason#CANCELLED} and the best candidate found so far.
 *
 * <p>Example:
 * <pre>{@code
 * final class Longest extends MetaGenerator {
 *     private final Generator inner;
 *
 *     Longest(Generator inner) {
 *         this.inner = inner;
 *     }
 *
 *     public String name() {
 *         return "longest";
 *     }
 *
 *     protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
 *         List<Generation> samples = scope.parallel(3, i -> scope.call(inner, prompt, Seeds.params(params, i)));
 *         Generation best = samples.stream().max(Comparator.comparingInt(s -> s.text().length())).orElse(null);
 *         return result(scope, best, Map.of("samples", samples.size()));
 *     }
 * }
 * Generation g = new Longest(sampler).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24),
 *         Budget.tokens(1000), new Cancellation());
 * }</pre>
 */
public abstract class MetaGenerator implements Generator {
    /** The trace key of a generation's top alternatives per token. */
    public static final String TOP_LOGPROBS = "top_logprobs";

    /** For subclasses. */
    public MetaGenerator() {
    }

    /**
     * The snake_case name used in strategy specs and traces.
     *
     * @return the name
     */
    public abstract String name();

    /**
     * Runs the strategy. Throws {@link Stopped} (from {@link Scope}) when out of budget; strategies that can
     * return a partial answer catch it themselves and return {@link #partial}.
     *
     * @param prompt the prompt
     * @param params the caller's parameters
     * @param scope the calls of this invocation
     * @return the answer
     */
    protected abstract Generation search(Prompt prompt, GenerationParams params, Scope scope);

    @Override
    public final Generation generate(Prompt prompt, GenerationParams params) {
        return generate(prompt, params, Budget.UNLIMITED, new Cancellation());
    }

    /**
     * Runs the strategy under {@code budget}, stoppable by {@code cancellation}.
     *
     * @param prompt the prompt
     * @param params the caller's parameters
     * @param budget the limit of the whole call tree
     * @param cancellation stops the whole call tree
     * @return the answer, with finish {@code BUDGET} or {@code CANCELLED} when it stopped early
     */
    public final Generation generate(Prompt prompt, GenerationParams params, Budget budget, Cancellation cancellation) {
        Run run = new Run(budget, cancellation);
        try {
            return run(prompt, params, run);
        } finally {
            run.finished();
        }
    }

    /** Runs inside an existing run (shared budget and cancellation); used by {@link Scope#call}. */
    final Generation run(Prompt prompt, GenerationParams params, Run run) {
        long t0 = System.nanoTime();
        Scope scope = new Scope(run);
        Generation g;
        try {
            g = search(prompt, params, scope);
        } catch (Stopped s) {
            g = partial(null, s, Map.of());
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("strategy", name());
        trace.putAll(g.trace());
        Generation out = new Generation(g.text(), g.tokens(), g.logprobs(), g.finish(), Cost.ZERO, trace);
        return scope.finish(out, Duration.ofNanos(System.nanoTime() - t0));
    }

    /**
     * The answer of a strategy that was stopped: the best candidate so far (or empty text) with finish
     * BUDGET/CANCELLED and {@code stopped} in the trace.
     *
     * @param best the best candidate, or null
     * @param why what stopped the run
     * @param trace the strategy's trace
     * @return the partial answer
     */
    protected static Generation partial(Generation best, Stopped why, Map<String, Object> trace) {
        return partial(best, why.reason(), trace);
    }

    private static Generation partial(Generation best, String reason, Map<String, Object> trace) {
        Map<String, Object> t = new LinkedHashMap<>(trace);
        t.put("stopped", reason);
        FinishReason f = reason.equals("cancelled") ? FinishReason.CANCELLED : FinishReason.BUDGET;
        if (best == null) {
            return new Generation("", new int[0], new double[0], f, Cost.ZERO, t);
        }
        return new Generation(best.text(), best.tokens(), best.logprobs(), f, Cost.ZERO, withTopLogprobs(best, t));
    }

    /**
     * The chosen candidate with a strategy trace (its cost is replaced by the scope's total).
     *
     * @param g the chosen candidate
     * @param trace the strategy's trace
     * @return the answer
     */
    protected static Generation chosen(Generation g, Map<String, Object> trace) {
        return new Generation(g.text(), g.tokens(), g.logprobs(), g.finish(), Cost.ZERO, withTopLogprobs(g, trace));
    }

    /** The trace with the candidate's top alternatives per token (asked for with {@code logprobs}), which go with its tokens. */
    private static Map<String, Object> withTopLogprobs(Generation candidate, Map<String, Object> trace) {
        Object top = candidate.trace().get(TOP_LOGPROBS);
        // only alternatives that go with the candidate's tokens (not a concatenation's, whose tokens differ)
        if (!(top instanceof java.util.List<?> tops) || tops.size() != candidate.tokens().length || trace.containsKey(TOP_LOGPROBS)) {
            return trace;
        }
        Map<String, Object> t = new LinkedHashMap<>(trace);
        t.put(TOP_LOGPROBS, top);
        return t;
    }

    /**
     * A result with no candidate (e.g. every sample was stopped).
     *
     * @param finish the finish reason
     * @param trace the strategy's trace
     * @return the empty answer
     */
    protected static Generation empty(FinishReason finish, Map<String, Object> trace) {
        return new Generation("", new int[0], new double[0], finish, Cost.ZERO, trace);
    }

    /**
     * Why the run stopped early (budget or cancellation), or null: strategies that finish with fewer calls than planned report it.
     *
     * @param scope the scope
     * @return {@code tokens}, {@code calls}, {@code time}, {@code cancelled}, or null
     */
    protected static String stopReason(Scope scope) {
        return scope.run().stopReason();
    }

    /**
     * The usual end of a strategy: the chosen candidate, marked BUDGET/CANCELLED when the run stopped early
     * (then {@code best} is the best of what was gathered), or an empty BUDGET result when nothing was.
     *
     * @param scope the scope
     * @param best the best candidate, or null
     * @param trace the strategy's trace
     * @return the answer
     */
    protected static Generation result(Scope scope, Generation best, Map<String, Object> trace) {
        String why = scope.run().stopReason();
        if (why != null) {
            return partial(best, why, trace);
        }
        if (best == null) {
            return empty(FinishReason.STOP, trace);
        }
        return chosen(best, trace);
    }
}
