package dev.metagen.meta;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The calls one strategy invocation makes: every inner generator, scorer and tool call goes through here, so
 * their costs add up exactly, the shared {@link Budget} is enforced and cancellation reaches the whole tree.
 * Thread-safe: parallel strategies call it from virtual threads.
 *
 * <p>Example:
 * <pre>{@code
 * // inside MetaGenerator.search(prompt, params, scope):
 * Generation draft = scope.call(inner, prompt, params);          // budgeted, cancellable, costed
 * double score = scope.score(scorer, prompt, draft);             // a judge's model calls are charged too
 * List<Generation> more = scope.parallel(4, i -> scope.call(inner, prompt, Seeds.params(params, i)));
 * Cost spent = scope.spent();                                     // all five calls
 * }</pre>
 */
public final class Scope {
    private final Run run;
    private Cost spent = Cost.ZERO;

    /**
     * The top scope of {@code run}.
     *
     * @param run the run
     */
    public Scope(Run run) {
        this.run = run;
    }

    /** {@return the run this scope belongs to} */
    public Run run() {
        return run;
    }

    /**
     * What the calls made through this scope cost (wall time is their sum, not the elapsed time).
     *
     * @return the cost
     */
    public synchronized Cost spent() {
        return spent;
    }

    /**
     * Adds a cost that was spent outside {@link #call} (e.g. by a tool).
     *
     * @param c the cost
     */
    public void charge(Cost c) {
        synchronized (this) {
            spent = spent.plus(c);
        }
        run.charge(c.modelCalls(), c.toolCalls());
    }

    /**
     * Throws {@link Stopped} when the run was cancelled, is out of time or budget: strategies call it in loops
     * that may go on without starting an inner call (so a cancellation ends them within one step).
     */
    public void checkpoint() {
        run.check();
    }

    /**
     * Calls an inner generator. A {@link MetaGenerator} shares this run's budget and cancellation. A leaf
     * generator first reserves its worst case of generated tokens and model calls
     * ({@link Generator#maxGeneratedTokens}, {@link Generator#maxModelCalls}) from what the budget has left, with its
     * {@code maxTokens} cut so that the worst case fits; a call cut short by the budget marks the run as stopped
     * by it (the result finishes with {@code budget}).
     *
     * @throws Stopped when the budget is spent or the run was cancelled before the call
     * @param inner the generator called
     * @param prompt its prompt
     * @param params its parameters
     * @return its answer
     */
    public Generation call(Generator inner, Prompt prompt, GenerationParams params) {
        run.check();
        Generation g;
        if (inner instanceof MetaGenerator meta) {
            g = meta.run(prompt, params, run);
            synchronized (this) {
                spent = spent.plus(g.cost());
            }
            // the inner strategy's own scope already counted its calls into the run
            if (g.finish() == FinishReason.BUDGET || g.finish() == FinishReason.CANCELLED) {
                throw new Stopped(String.valueOf(g.trace().get("stopped")), g.finish() == FinishReason.CANCELLED);
            }
            return g;
        }
        Run.Reservation r = run.reserve(params.maxTokens(),
                m -> inner.maxGeneratedTokens(prompt, params.withMaxTokens(m)),
                m -> inner.maxModelCalls(prompt, params.withMaxTokens(m)));
        GenerationParams limited = r.maxTokens() == params.maxTokens() ? params : params.withMaxTokens(r.maxTokens());
        Generation[] out = new Generation[1];
        boolean interrupted;
        try {
            // a leaf that is running when the run is cancelled or out of time is interrupted and ends at its
            // next token (the generators of metagen-decoding check the thread's interrupt flag)
            interrupted = run.runLeaf(() -> out[0] = inner.generate(prompt, limited));
        } finally {
            // a failed call is settled as spending nothing: its cost is unknown, and the failure ends the run
            run.settle(r, out[0] == null ? 0 : out[0].cost().generatedTokens(), out[0] == null ? 0 : out[0].cost().modelCalls());
        }
        g = out[0];
        run.addToolCalls(g.cost().toolCalls());
        synchronized (this) {
            spent = spent.plus(g.cost());
        }
        if (interrupted) {
            throw run.interrupted(); // the cut-off candidate is paid for but not used
        }
        if (r.cappedBy() != null && g.finish() == FinishReason.LENGTH) {
            run.budgetBound(r.cappedBy()); // the budget, not the caller's limit, ended this candidate
        }
        return g;
    }

    /**
     * Runs one tool call (a sandboxed program, a calculator): it does not start when the run is cancelled or out of
     * budget ({@link Stopped}), it is interrupted like a leaf generation when the run is cancelled or its time runs
     * out (then {@link Stopped} is thrown once the tool has returned), and it is charged as one tool call with its
     * wall time.
     *
     * @param <T> the tool's result type
     * @param call the tool call
     * @return its result
     */
    public <T> T tool(Supplier<T> call) {
        run.check();
        long t0 = System.nanoTime();
        List<T> out = new ArrayList<>(1);
        boolean interrupted;
        try {
            interrupted = run.runLeaf(() -> out.add(call.get()));
        } finally {
            charge(new Cost(0, 0, 0, 1, Duration.ofNanos(System.nanoTime() - t0)));
        }
        if (interrupted) {
            throw run.interrupted();
        }
        return out.getFirst();
    }

    /**
     * Scores a candidate; scorers that call models (LM judges) charge their cost here.
     *
     * @param scorer the scorer
     * @param prompt the prompt
     * @param candidate the candidate
     * @return the score
     */
    public double score(Scorer scorer, Prompt prompt, Generation candidate) {
        if (scorer instanceof ScopedScorer s) {
            run.check();
            return s.score(prompt, candidate, this);
        }
        return scorer.score(prompt, candidate);
    }

    /**
     * Runs {@code n} tasks concurrently on virtual threads and returns the results of those that finished, in
     * index order; tasks stopped by the budget or cancellation are left out. Other failures propagate.
     *
     * @param <T> the tasks' result type
     * @param n the number of tasks
     * @param task runs task {@code i}
     * @return the results of the finished tasks, in index order
     */
    public <T> List<T> parallel(int n, IntFunction<T> task) {
        List<T> out = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<T>> futures = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(pool.submit(() -> task.apply(index)));
            }
            RuntimeException failure = null;
            for (Future<T> f : futures) {
                try {
                    T t = f.get();
                    if (t != null) {
                        out.add(t);
                    }
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof Stopped) && failure == null) {
                        failure = e.getCause() instanceof RuntimeException re ? re : new MetagenException(e.getCause().toString(), e.getCause());
                        run.abort(); // a failed branch stops its siblings from starting new calls
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    run.abort();
                    throw new Stopped("cancelled", true);
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
        return out;
    }

    /** The result of a strategy: the chosen generation (or an empty one) with this scope's cost. */
    Generation finish(Generation chosen, Duration wall) {
        Cost c = spent();
        return new Generation(chosen.text(), chosen.tokens(), chosen.logprobs(), chosen.finish(),
                new Cost(c.promptTokens(), c.generatedTokens(), c.modelCalls(), c.toolCalls(), wall), chosen.trace());
    }
}
