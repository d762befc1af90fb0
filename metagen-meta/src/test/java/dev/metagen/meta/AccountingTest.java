package dev.metagen.meta;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.parallel.BestOfN;
import dev.metagen.meta.parallel.WeightedMajorityVote;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.testing.CategoricalGenerator;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Weighted voting follows its documented weights; call and token budgets hold under concurrency and say so. */
class AccountingTest {
    static final Prompt Q = Prompt.of("Q");
    static final GenerationParams P = new GenerationParams(16, 1.0, 0, 1.0, 1, true, List.of());

    /**
     * Six samples whatever the thread order: the first call answers B, the other five A. Each token has
     * log-probability {@code perToken}; B's sample is a little more likely than each A sample.
     */
    static Generator fiveAOneB(double perTokenA, double perTokenB) {
        AtomicInteger calls = new AtomicInteger();
        return (p, params) -> {
            boolean b = calls.getAndIncrement() == 0;
            double lp = b ? perTokenB : perTokenA;
            return new Generation("answer " + (b ? "2" : "1"), new int[]{7, 7}, new double[]{lp, lp}, FinishReason.STOP,
                    new Cost(1, 2, 2, 0, Duration.ZERO), Map.of());
        };
    }

    static StrategySpecs specsOver(Generator leaf) {
        return new StrategySpecs(new LeafFactory() {
            @Override
            public Set<String> types() {
                return Set.of("sample");
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return leaf;
            }
        });
    }

    @Test
    void weightedVoteWithALogprobScorerWeighsVotesByProbability() {
        for (long seed = 0; seed < 12; seed++) {
            Generator leaf = fiveAOneB(-1.0, -0.5);
            Generation r = specsOver(leaf).parse("{\"type\":\"weighted_vote\",\"n\":6,\"scorer\":{\"type\":\"logprob\"},"
                    + "\"inner\":{\"type\":\"sample\"}}").generator().generate(Q, P.withSampling(1, 0, 1, seed));
            // five votes of probability e^-2 outweigh one of e^-1: 5 e^-2 = 0.68 > 0.37
            assertEquals("1", r.trace().get("answer"), "seed " + seed + ": five votes beat one; " + r.trace().get("votes"));
            Map<?, ?> votes = (Map<?, ?>) r.trace().get("votes");
            assertEquals(5 * Math.exp(-2.0 + 1.0), ((Number) votes.get("1")).doubleValue(), 1e-9, "weights relative to the best sample");
            assertEquals(1.0, ((Number) votes.get("2")).doubleValue(), 1e-9);
        }
    }

    @Test
    void expWeightsDoNotUnderflowOnLongSamples() {
        // sequence log-probabilities near -1000: exp() of them is 0 in double precision
        for (long seed = 0; seed < 8; seed++) {
            Generation r = new WeightedMajorityVote(fiveAOneB(-500.0, -499.9), 6, AnswerExtractors.lastNumber(), LogprobScorer.sum(), true)
                    .generate(Q, P.withSampling(1, 0, 1, seed));
            assertEquals("1", r.trace().get("answer"), "seed " + seed + ": " + r.trace().get("votes"));
        }
    }

    @Test
    void clippedWeightsWithALogprobScorerAreRefused() {
        var e = assertThrows(MetagenException.class, () -> specsOver(fiveAOneB(-1, -1)).parse("{\"type\":\"weighted_vote\","
                + "\"exp_weights\":false,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}"));
        assertTrue(e.getMessage().startsWith("$.exp_weights: weighted_vote: exp_weights false with a log-probability scorer"), e.getMessage());
    }

    @Test
    void aCallBudgetIsNeverExceededByConcurrentSamples() {
        // best-of-8 of 16-token samples at one call per token: 128 calls wanted, 3 allowed
        CategoricalGenerator g = new CategoricalGenerator(new String[]{"1", "2"}, new double[]{0.5, 0.5}, 16);
        Generation r = new BestOfN(g, 8, LogprobScorer.sum()).generate(Q, P, Budget.calls(3), new Cancellation());
        assertEquals(FinishReason.BUDGET, r.finish());
        assertEquals("calls", r.trace().get("stopped"));
        assertEquals(3, r.cost().modelCalls(), "the calls budget is spent exactly, never passed");
        assertEquals(1, g.calls.get(), "one sample, cut to 3 tokens; no other sample started");
        for (long calls = 1; calls <= 40; calls += 3) {
            CategoricalGenerator h = new CategoricalGenerator(new String[]{"1", "2"}, new double[]{0.5, 0.5}, 5);
            // max tokens = what a sample needs: a reservation holds the caller's whole max tokens while a sample runs
            Generation x = new BestOfN(h, 8, LogprobScorer.sum()).generate(Q, P.withMaxTokens(5), Budget.calls(calls), new Cancellation());
            assertTrue(x.cost().modelCalls() <= calls, calls + " allowed, " + x.cost().modelCalls() + " spent");
            assertEquals(calls >= 40 ? FinishReason.STOP : FinishReason.BUDGET, x.finish(), calls + " calls");
        }
    }

    @Test
    void aGeneratorsDeclaredWorstCaseIsReserved() {
        // a leaf that makes two calls per token and says so
        AtomicLong made = new AtomicLong();
        Generator twice = new Generator() {
            @Override
            public Generation generate(Prompt prompt, GenerationParams params) {
                int n = params.maxTokens();
                made.addAndGet(2L * n);
                return new Generation("1", new int[n], new double[n], FinishReason.LENGTH, new Cost(1, n, 2L * n, 0, Duration.ZERO), Map.of());
            }

            @Override
            public long maxModelCalls(Prompt prompt, GenerationParams params) {
                return 2L * params.maxTokens();
            }
        };
        Generation r = new BestOfN(twice, 4, LogprobScorer.sum()).generate(Q, P.withMaxTokens(10), Budget.calls(25), new Cancellation());
        assertEquals(made.get(), r.cost().modelCalls());
        assertTrue(r.cost().modelCalls() <= 25, r.cost().modelCalls() + " calls");
        assertEquals(FinishReason.BUDGET, r.finish());
    }

    @Test
    void aTokenBudgetThatCutsTheOnlySampleFinishesBudget() {
        CategoricalGenerator g = new CategoricalGenerator(new String[]{"1", "2"}, new double[]{0.5, 0.5}, 16);
        Generation r = new BestOfN(g, 1, LogprobScorer.sum()).generate(Q, P, Budget.tokens(5), new Cancellation());
        assertEquals(5, r.cost().generatedTokens());
        assertEquals(FinishReason.BUDGET, r.finish(), "the budget, not the caller's max tokens, ended the text");
        assertEquals("tokens", r.trace().get("stopped"));
    }
}
