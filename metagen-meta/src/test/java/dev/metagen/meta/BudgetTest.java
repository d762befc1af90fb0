package dev.metagen.meta;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.parallel.BestOfN;
import dev.metagen.meta.parallel.MajorityVote;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.testing.CategoricalGenerator;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Budgets stop strategies cleanly and say so; costs of nested strategies add up; cancellation reaches the tree. */
class BudgetTest {
    static final Prompt Q = Prompt.of("Q");
    static final GenerationParams P = new GenerationParams(10, 1.0, 0, 1.0, 1, true, List.of());

    @Test
    void aTokenBudgetIsStrictAndReportedInTheResult() {
        CategoricalGenerator g = new CategoricalGenerator(new String[]{"1", "2"}, new double[]{0.5, 0.5}, 4);
        // 8 samples of 4 tokens want 32 tokens; 10 allow two whole samples and a truncated third, in any thread order
        Generation r = new BestOfN(g, 8, LogprobScorer.sum()).generate(Q, P.withMaxTokens(4), Budget.tokens(10), new Cancellation());
        assertEquals(FinishReason.BUDGET, r.finish());
        assertEquals("tokens", r.trace().get("stopped"));
        assertEquals(10, r.cost().generatedTokens());
        assertEquals(3, ((List<?>) r.trace().get("candidates")).size());
    }

    @Test
    void aCallBudgetStopsNewCalls() {
        CategoricalGenerator g = new CategoricalGenerator(new String[]{"1", "2"}, new double[]{0.5, 0.5}, 1);
        Generation r = new MajorityVote(g, 1, AnswerExtractors.lastNumber()) {
        }.generate(Q, P, Budget.calls(1), new Cancellation());
        assertEquals(FinishReason.STOP, r.finish(), "one call fits a budget of one");
        // a chain of two strategies sharing one run: the second finds the budget spent
        MetaGenerator twice = new MetaGenerator() {
            @Override
            public String name() {
                return "twice";
            }

            @Override
            protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
                scope.call(g, prompt, params);
                return chosen(scope.call(g, prompt, params), Map.of());
            }
        };
        Generation r2 = twice.generate(Q, P, Budget.calls(1), new Cancellation());
        assertEquals(FinishReason.BUDGET, r2.finish());
        assertEquals("calls", r2.trace().get("stopped"));
        assertEquals(1, r2.cost().modelCalls());
    }

    @Test
    void aTimeBudgetStopsNewCalls() {
        Generator slow = (p, params) -> {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Generation("x 1", new int[]{1}, new double[]{-1}, FinishReason.STOP, new Cost(1, 1, 1, 0, Duration.ofMillis(30)), Map.of());
        };
        var rs = new dev.metagen.meta.parallel.RejectionSampling(slow, (p, c) -> new dev.metagen.meta.score.Verifier.Verdict(false, "never"), 1000, 1);
        long t0 = System.nanoTime();
        Generation r = rs.generate(Q, P, Budget.UNLIMITED.withTime(Duration.ofMillis(200)), new Cancellation());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(FinishReason.BUDGET, r.finish());
        assertEquals("time", r.trace().get("stopped"));
        assertTrue(ms < 2000, "took " + ms + " ms");
        assertTrue(r.cost().modelCalls() >= 3 && r.cost().modelCalls() < 100);
    }

    @Test
    void nestedCostsAddUp() {
        CategoricalGenerator g = new CategoricalGenerator(new String[]{"1", "2", "3"}, new double[]{0.4, 0.3, 0.3}, 3);
        MajorityVote inner = new MajorityVote(g, 3, AnswerExtractors.lastNumber());
        BestOfN outer = new BestOfN(inner, 4, LogprobScorer.sum());
        Generation r = outer.generate(Q, P);
        assertEquals(12, g.calls.get());
        assertEquals(new Cost(12 * 3, 12 * 3, 12 * 3, 0, r.cost().wall()), r.cost());
        assertEquals(FinishReason.STOP, r.finish());
    }

    @Test
    void cancellationStopsTheWholeTree() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        Generator slow = (p, params) -> {
            calls.incrementAndGet();
            started.countDown();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Generation("1", new int[]{1}, new double[]{-1}, FinishReason.STOP, new Cost(1, 1, 1, 0, Duration.ZERO), Map.of());
        };
        var rs = new dev.metagen.meta.parallel.RejectionSampling(new MajorityVote(slow, 2, AnswerExtractors.lastNumber()),
                (p, c) -> new dev.metagen.meta.score.Verifier.Verdict(false, "never"), 10_000, 1);
        Cancellation cancel = new Cancellation();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                started.await();
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            cancel.cancel();
        });
        Generation r = rs.generate(Q, P, Budget.UNLIMITED, cancel);
        t.join();
        assertEquals(FinishReason.CANCELLED, r.finish());
        assertEquals("cancelled", r.trace().get("stopped"));
        assertTrue(calls.get() < 100, calls.get() + " calls");
        assertEquals(calls.get(), r.cost().modelCalls());
    }

    @Test
    void parallelInnerCallsRunConcurrently() {
        // each call waits until all n are in flight: this finishes only if the n calls run at the same time
        int n = 8;
        CountDownLatch all = new CountDownLatch(n);
        Generator waits = (p, params) -> {
            all.countDown();
            try {
                assertTrue(all.await(10, java.util.concurrent.TimeUnit.SECONDS), "calls ran one after another");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return new Generation("1", new int[]{1}, new double[]{-1}, FinishReason.STOP, new Cost(1, 1, 1, 0, Duration.ZERO), Map.of());
        };
        Generation r = new BestOfN(waits, n, LogprobScorer.sum()).generate(Q, P);
        assertEquals(n, r.cost().modelCalls());
    }

    @Test
    void aFailingInnerCallPropagates() {
        Generator broken = (p, params) -> {
            throw new dev.metagen.core.MetagenException("model exploded");
        };
        var e = assertThrows(dev.metagen.core.MetagenException.class,
                () -> new BestOfN(broken, 3, LogprobScorer.sum()).generate(Q, P));
        assertEquals("model exploded", e.getMessage());
    }

    /** A leaf that would run for minutes: one token every 5 ms, ending early only when its thread is interrupted. */
    static final class SlowLeaf implements Generator {
        final AtomicInteger interrupted = new AtomicInteger();

        @Override
        public Generation generate(Prompt prompt, GenerationParams params) {
            int n = 0;
            FinishReason f = FinishReason.LENGTH;
            for (; n < params.maxTokens(); n++) {
                if (Thread.currentThread().isInterrupted()) {
                    interrupted.incrementAndGet();
                    f = FinishReason.CANCELLED;
                    break;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // keep the flag, as metagen's generators do
                }
            }
            return new Generation("7", new int[n], new double[n], f, new Cost(1, n, n, 0, Duration.ZERO), Map.of());
        }
    }

    @Test
    void theTimeBudgetInterruptsLeavesThatAreRunning() {
        SlowLeaf leaf = new SlowLeaf();
        long t0 = System.nanoTime();
        Generation r = new BestOfN(leaf, 4, LogprobScorer.sum())
                .generate(Q, P.withMaxTokens(100_000), Budget.UNLIMITED.withTime(Duration.ofMillis(300)), new Cancellation());
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(FinishReason.BUDGET, r.finish());
        assertEquals("time", r.trace().get("stopped"));
        assertEquals(4, leaf.interrupted.get(), "all four running samples were stopped");
        assertTrue(seconds < 30, "stopped after " + seconds + " s, not after 100,000 tokens");
        assertTrue(r.cost().generatedTokens() > 0, "the interrupted samples' tokens are still paid for");
        assertTrue(!Thread.currentThread().isInterrupted(), "no interrupt leaks to the caller");
    }

    @Test
    void cancellationInterruptsLeavesThatAreRunning() throws Exception {
        SlowLeaf leaf = new SlowLeaf();
        Cancellation c = new Cancellation();
        Thread canceller = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            c.cancel();
        });
        // sequential leaf on the calling thread itself
        Generation r = new MajorityVote(leaf, 1, AnswerExtractors.lastNumber()) {
        }.generate(Q, P.withMaxTokens(100_000), Budget.UNLIMITED, c);
        canceller.join();
        assertEquals(FinishReason.CANCELLED, r.finish());
        assertEquals(1, leaf.interrupted.get());
        assertTrue(!Thread.currentThread().isInterrupted(), "the run's interrupt is cleared on the caller's thread");
    }
}
