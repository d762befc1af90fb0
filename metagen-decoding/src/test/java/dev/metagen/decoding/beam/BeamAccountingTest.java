package dev.metagen.decoding.beam;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.ContrastiveSearch;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.decoding.TopLogprobs;
import dev.metagen.decoding.testing.ForwardCounter;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Beam-family and contrastive searches on stories260K: each call reports its own model calls (a search object is
 * shared by concurrent callers), an interrupt ends a search before its next forward, and texts keep the space
 * that a SentencePiece word token carries.
 */
@Tag("model")
class BeamAccountingTest {
    static LanguageModel model;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void concurrentSearchesOnOneObjectEachReportTheirOwnCalls() throws Exception {
        // both prefills wait for each other, so the two searches surely overlap
        CyclicBarrier bothStarted = new CyclicBarrier(2);
        ForwardCounter counter = new ForwardCounter(model).onCall(n -> {
            if (n <= 2) {
                try {
                    bothStarted.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        for (Search search : List.<Search>of(new BeamSearch(counter, BeamSearch.Settings.of(3)),
                new StochasticBeamSearch(counter, 3, 1.0, 7))) {
            counter.calls.set(0);
            bothStarted.reset();
            BeamGenerator beams = BeamGenerator.of(counter, search);
            Generation[] out = new Generation[2];
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                int index = i;
                threads.add(Thread.ofVirtual().start(() -> out[index] =
                        beams.generate(Prompt.of(index == 0 ? "Once upon a time" : "The dog"), GenerationParams.greedy(8))));
            }
            for (Thread t : threads) {
                t.join();
            }
            long reported = out[0].cost().modelCalls() + out[1].cost().modelCalls();
            assertEquals(counter.calls.get(), reported, search.getClass().getSimpleName() + ": reported calls are the forwards made");
            assertTrue(out[0].cost().modelCalls() <= 8 && out[1].cost().modelCalls() <= 8,
                    "each search makes at most one forward per token");
        }
    }

    /** Runs {@code gen} on a thread that is interrupted (by another thread) during its {@code at}-th forward. */
    static Generation interruptedAt(long at, Function<ForwardCounter, Generation> gen, long[] forwards) throws Exception {
        Thread[] runner = new Thread[1];
        ForwardCounter counter = new ForwardCounter(model).onCall(n -> {
            if (n == at) {
                Thread canceller = Thread.ofVirtual().start(runner[0]::interrupt);
                joinUninterruptibly(canceller);
            }
        });
        Generation[] out = new Generation[1];
        runner[0] = Thread.ofPlatform().unstarted(() -> out[0] = gen.apply(counter));
        runner[0].start();
        runner[0].join();
        forwards[0] = counter.calls.get();
        return out[0];
    }

    static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void anInterruptEndsEverySearchBeforeItsNextForward() throws Exception {
        Map<String, Function<ForwardCounter, Generation>> searches = Map.of(
                "beam", m -> BeamGenerator.of(m, new BeamSearch(m, BeamSearch.Settings.of(3))).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(40)),
                "diverse beam", m -> BeamGenerator.of(m, new BeamSearch(m, new BeamSearch.Settings(4, 1.0, false, 2, 2, 0.5)))
                        .generate(Prompt.of("Once upon a time"), GenerationParams.greedy(40)),
                "stochastic beam", m -> BeamGenerator.of(m, new StochasticBeamSearch(m, 3, 1.0, 3)).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(40)),
                "contrastive", m -> new ContrastiveSearch(m, 4, 0.6).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(40)),
                "contrastive, in the prompt", m -> new ContrastiveSearch(m, 4, 0.6).generate(Prompt.of("Once upon a time there was a"), GenerationParams.greedy(40)));
        for (var e : searches.entrySet()) {
            long at = e.getKey().endsWith("prompt") ? 3 : 5;
            long[] forwards = new long[1];
            Generation g = interruptedAt(at, e.getValue(), forwards);
            assertEquals(at, forwards[0], e.getKey() + ": no forward starts after the interrupt");
            assertEquals(FinishReason.CANCELLED, g.finish(), e.getKey());
            assertEquals(at, g.cost().modelCalls(), e.getKey() + ": reported calls");
        }
    }

    @Test
    void beamTextKeepsTheSpaceBeforeTheFirstWord() {
        GenerationParams p = GenerationParams.greedy(5);
        Generation greedy = new SamplingGenerator(model).generate(Prompt.of("Once upon a"), p);
        Generation beam = BeamGenerator.of(model, new BeamSearch(model, BeamSearch.Settings.of(1))).generate(Prompt.of("Once upon a"), p);
        assertArrayEquals(greedy.tokens(), beam.tokens(), "a one-wide beam is greedy");
        assertTrue(greedy.text().startsWith(" "), greedy.text());
        assertEquals(greedy.text(), beam.text());
        Generation two = BeamGenerator.of(model, new BeamSearch(model, new BeamSearch.Settings(2, 1.0, false, 2, 1, 0)))
                .generate(Prompt.of("Once upon a"), p.withStop(List.of("zzz")));
        assertTrue(two.text().startsWith(" "), "'" + two.text() + "' after 'Once upon a'");
        for (Object seq : (List<?>) two.trace().get("sequences")) {
            String text = (String) ((Map<?, ?>) seq).get("text");
            assertEquals(BeamGenerator.continuation(model.tokenizer(), (int[]) ((Map<?, ?>) seq).get("tokens")), text);
            assertTrue(text.startsWith(" "), text);
        }
        Generation stochastic = BeamGenerator.of(model, new StochasticBeamSearch(model, 2, 1.0, 1)).generate(Prompt.of("Once upon a"), p);
        assertEquals(BeamGenerator.continuation(model.tokenizer(), stochastic.tokens()), stochastic.text());
    }

    @Test
    void topLogprobTextsKeepLeadingSpaces() {
        var tok = model.tokenizer();
        double[] lp;
        try (var s = model.newState()) {
            lp = model.forward(s, tok.encode("Once upon a", true)).logProbabilities();
        }
        List<Map<String, Object>> top = TopLogprobs.of(lp, 5, tok);
        boolean anySpace = false;
        for (Map<String, Object> alt : top) {
            int id = (Integer) alt.get("token");
            assertEquals(new String(tok.tokenBytes(id), StandardCharsets.UTF_8), alt.get("text"));
            anySpace |= ((String) alt.get("text")).startsWith(" ");
        }
        assertTrue(anySpace, "after 'Once upon a' the likely next tokens are words with a leading space: " + top);
    }
}
