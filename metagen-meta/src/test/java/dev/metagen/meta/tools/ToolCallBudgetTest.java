package dev.metagen.meta.tools;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.chain.Chain;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sandboxed tool calls are charged as tool calls, start only within the budget and die with a cancelled or timed-out run. */
class ToolCallBudgetTest {
    static final GenerationParams P = new GenerationParams(16, 0, 0, 1.0, 0, true, List.of());
    static final String LOOP = "while True:\n    pass\n";

    @BeforeAll
    static void needsTheSandbox() {
        SandboxRequired.check();
    }

    /** A leaf that answers the given texts in turn (one model call each). */
    static LeafFactory script(String... answers) {
        AtomicInteger next = new AtomicInteger();
        Generator g = (prompt, params) -> new Generation(answers[next.getAndIncrement() % answers.length], new int[]{1},
                new double[]{-0.5}, FinishReason.STOP, new Cost(1, 1, 1, 0, Duration.ZERO), Map.of());
        return new LeafFactory() {
            @Override
            public Set<String> types() {
                return Set.of("script");
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return g;
            }
        };
    }

    @Test
    void pythonTestsUnderBestOfNIsOneToolCallPerSandboxRun() {
        var spec = new StrategySpecs(script("def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n",
                "```python\ndef add(a, b):\n    return b + a\n```"))
                .parse("{\"type\":\"best_of_n\",\"n\":3,\"inner\":{\"type\":\"script\"},"
                        + "\"scorer\":{\"type\":\"python_tests\",\"tests\":\"assert add(2, 3) == 5\"}}");
        Generation g = ((MetaGenerator) spec.generator()).generate(Prompt.of("Write add.\n"), P, spec.budget(), new Cancellation());
        assertEquals(3, g.cost().toolCalls());
        assertEquals(3, g.cost().modelCalls());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) g.trace().get("candidates");
        // each of the three programs ran: two pass, one fails its assertion
        assertEquals(List.of(0.0, 1.0, 1.0), rows.stream().map(r -> (Double) r.get("score")).sorted().toList());
        assertEquals(1.0, g.trace().get("chosen_score"));
    }

    @Test
    void noToolCallStartsWhenTheBudgetIsSpentOrTheRunCancelled() {
        Chain chain = new Chain(List.of(new Chain.CallTool("out", Sandbox.python(Sandbox.Limits.DEFAULT), "print(1)\n")), "out");
        Generation spent = chain.generate(Prompt.of("x"), P, Budget.calls(0), new Cancellation());
        assertEquals(0, spent.cost().toolCalls());
        assertEquals(FinishReason.BUDGET, spent.finish());
        Cancellation cancelled = new Cancellation();
        cancelled.cancel();
        Generation c = chain.generate(Prompt.of("x"), P, Budget.UNLIMITED, cancelled);
        assertEquals(0, c.cost().toolCalls());
        assertEquals(FinishReason.CANCELLED, c.finish());
    }

    @Test
    void cancellingTheRunKillsARunningSandboxWithinASecond() throws Exception {
        Chain chain = new Chain(List.of(new Chain.CallTool("out",
                Sandbox.python(new Sandbox.Limits(Duration.ofSeconds(60), 256L << 20, 60, 4096)), LOOP)), "out");
        Cancellation cancel = new Cancellation();
        CompletableFuture<Generation> run = CompletableFuture.supplyAsync(() -> chain.generate(Prompt.of("x"), P, Budget.UNLIMITED, cancel));
        List<ProcessHandle> sandboxed = awaitPython();
        long t0 = System.nanoTime();
        cancel.cancel();
        Generation g = run.get(10, TimeUnit.SECONDS);
        long ms = awaitGone(sandboxed, t0);
        System.err.println("ToolCallBudgetTest: every sandbox process was gone " + ms + " ms after the cancellation");
        assertTrue(ms < 1500, "the sandbox was gone " + ms + " ms after the cancellation");
        assertEquals(FinishReason.CANCELLED, g.finish());
        assertEquals(1, g.cost().toolCalls());
    }

    @Test
    void theRunsTimeBudgetKillsARunningSandbox() throws Exception {
        Chain chain = new Chain(List.of(new Chain.CallTool("out",
                Sandbox.python(new Sandbox.Limits(Duration.ofSeconds(60), 256L << 20, 60, 4096)), LOOP)), "out");
        long t0 = System.nanoTime();
        Generation g = chain.generate(Prompt.of("x"), P, Budget.UNLIMITED.withTime(Duration.ofMillis(1500)), new Cancellation());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 4000, "returned after " + ms + " ms on a 1,500 ms budget");
        assertEquals(FinishReason.BUDGET, g.finish());
        assertEquals("time", g.trace().get("stopped"));
        assertEquals(List.of(), ProcessHandle.current().descendants().filter(SandboxRequired::running)
                .filter(h -> h.info().command().orElse("").contains("python")).map(ProcessHandle::pid).toList());
    }

    /** The python processes below this JVM, once there is one. */
    static List<ProcessHandle> awaitPython() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() - until < 0) {
            List<ProcessHandle> found = ProcessHandle.current().descendants()
                    .filter(h -> h.info().command().orElse("").contains("python")).toList();
            if (!found.isEmpty()) {
                return new ArrayList<>(ProcessHandle.current().descendants().toList());
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the sandboxed program did not start");
    }

    /** Milliseconds from t0 until every process is gone. */
    static long awaitGone(List<ProcessHandle> processes, long t0) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (processes.stream().anyMatch(SandboxRequired::running) && System.nanoTime() - until < 0) {
            Thread.sleep(10);
        }
        assertEquals(List.of(), processes.stream().filter(SandboxRequired::running).map(ProcessHandle::pid).toList(), "still running");
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
