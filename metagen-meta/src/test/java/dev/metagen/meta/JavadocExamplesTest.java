package dev.metagen.meta;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.core.Scorer;
import dev.metagen.core.testing.JavadocExamples;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.meta.agent.Debate;
import dev.metagen.meta.chain.Chain;
import dev.metagen.meta.parallel.BestOfN;
import dev.metagen.meta.parallel.MajorityVote;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.search.MonteCarloTreeSearch;
import dev.metagen.meta.search.StepBeamSearch;
import dev.metagen.meta.search.StepConfig;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.testing.CategoricalGenerator;
import dev.metagen.core.LanguageModel;
import dev.metagen.meta.testing.Stories;
import dev.metagen.meta.tools.Calculator;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.SandboxRequired;
import dev.metagen.meta.tools.ToolResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The usage examples of meta's Javadoc, run with the same code on stories260K or on a seeded categorical generator
 * (see {@link JavadocExamples}).
 */
@Tag("model")
class JavadocExamplesTest {
    static LanguageModel model;
    static Generator sampler;

    @BeforeAll
    static void open() {
        model = Stories.load();
        sampler = new SamplingGenerator(model);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Answers "The answer is 5." with probability 0.6, else 4 or 6. */
    static CategoricalGenerator answers() {
        return new CategoricalGenerator(new String[] {"5", "4", "6"}, new double[] {0.6, 0.25, 0.15});
    }

    @Test
    void examplesAreTheJavadocs() {
        assertEquals(12, JavadocExamples.check(JavadocExamplesTest.class));
    }

    @Test
    void metaGenerator() {
        // example: dev.metagen.meta.MetaGenerator
        final class Longest extends MetaGenerator {
            private final Generator inner;

            Longest(Generator inner) {
                this.inner = inner;
            }

            public String name() {
                return "longest";
            }

            protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
                List<Generation> samples = scope.parallel(3, i -> scope.call(inner, prompt, Seeds.params(params, i)));
                Generation best = samples.stream().max(Comparator.comparingInt(s -> s.text().length())).orElse(null);
                return result(scope, best, Map.of("samples", samples.size()));
            }
        }
        Generation g = new Longest(sampler).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24),
                Budget.tokens(1000), new Cancellation());
        // end
        assertEquals("longest", g.trace().get("strategy"));
        assertEquals(3, g.trace().get("samples"));
        assertEquals(72, g.cost().generatedTokens(), "three greedy samples of 24 tokens");
    }

    @Test
    void scope() {
        Scope scope = new Scope(new Run(Budget.UNLIMITED, new Cancellation()));
        Generator inner = answers();
        Scorer scorer = LogprobScorer.sum();
        Prompt prompt = Prompt.of("Q: 2 + 3 = ?\nA:");
        GenerationParams params = GenerationParams.greedy(4);
        // example: dev.metagen.meta.Scope
        // inside MetaGenerator.search(prompt, params, scope):
        Generation draft = scope.call(inner, prompt, params);          // budgeted, cancellable, costed
        double score = scope.score(scorer, prompt, draft);             // a judge's model calls are charged too
        List<Generation> more = scope.parallel(4, i -> scope.call(inner, prompt, Seeds.params(params, i)));
        Cost spent = scope.spent();                                     // all five calls
        // end
        assertEquals(draft.sumLogprob(), score);
        assertEquals(4, more.size());
        assertEquals(5, spent.modelCalls());
        assertEquals(15, spent.promptTokens());
    }

    @Test
    void budget() {
        MetaGenerator strategy = new BestOfN(sampler, 4, LogprobScorer.mean());
        // example: dev.metagen.meta.Budget
        Budget budget = Budget.tokens(40).withTime(Duration.ofSeconds(30));
        Generation g = strategy.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(16), budget, new Cancellation());
        // at most 40 generated tokens over every inner call; g.finish() is BUDGET when it ran out
        // end
        assertTrue(g.cost().generatedTokens() <= 40, g.cost().toString());
        assertEquals(FinishReason.BUDGET, g.finish(), "four samples of 16 tokens do not fit 40");
    }

    @Test
    void cancellation() {
        CategoricalGenerator leaf = answers();
        MetaGenerator strategy = new MajorityVote(leaf, 5, AnswerExtractors.lastNumber());
        // example: dev.metagen.meta.Cancellation
        Cancellation cancel = new Cancellation();
        cancel.cancel();                                                // e.g. from another thread when the client goes away
        Generation g = strategy.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(16), Budget.UNLIMITED, cancel);
        // g.finish() == FinishReason.CANCELLED: no inner call started
        // end
        assertEquals(FinishReason.CANCELLED, g.finish());
        assertEquals(0, leaf.calls.get());
    }

    @Test
    void strategySpecs() {
        CategoricalGenerator leaf = answers();
        LeafFactory leaves = new LeafFactory() {
            @Override
            public Set<String> types() {
                return Set.of("sample");
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return leaf;
            }
        };
        // example: dev.metagen.meta.spec.StrategySpecs
        StrategySpecs specs = new StrategySpecs(leaves);               // leaves: builds the "sample" leaf
        StrategySpecs.Strategy s = specs.parse("""
                {"type": "majority_vote", "n": 5, "inner": {"type": "sample"}, "budget": {"tokens": 500}}""");
        MetaGenerator strategy = (MetaGenerator) s.generator();
        Generation g = strategy.generate(Prompt.of("Q: 2 + 3 = ?\nA:"), GenerationParams.greedy(16), s.budget(),
                new Cancellation());
        // end
        assertEquals(500, s.budget().generatedTokens());
        assertEquals(5, leaf.calls.get());
        assertEquals("majority_vote", g.trace().get("strategy"));
    }

    @Test
    void bestOfN() {
        // example: dev.metagen.meta.parallel.BestOfN
        MetaGenerator best = new BestOfN(sampler, 4, LogprobScorer.mean());
        Generation g = best.generate(Prompt.of("Once upon a time"), GenerationParams.of(24, new SamplingConfig()));
        // the most likely of 4 samples per token; g.cost() holds all four
        // end
        assertEquals(4, g.cost().modelCalls() / 24, g.cost().toString());
        assertTrue(g.tokens().length > 0);
    }

    @Test
    void majorityVote() {
        Generator sampler = answers();
        // example: dev.metagen.meta.parallel.MajorityVote
        MetaGenerator vote = new MajorityVote(sampler, 8, AnswerExtractors.lastNumber());
        Generation g = vote.generate(Prompt.of("Q: 2 + 3 = ?\nA:"), GenerationParams.of(16, new SamplingConfig()));
        // g is a sample whose last number is the most frequent one among the 8
        // end
        assertEquals("The answer is 5.", g.text(), g.trace().toString());
        assertEquals(8, g.cost().modelCalls());
    }

    @Test
    void stepBeamSearch() {
        Scorer prm = LogprobScorer.mean();
        // example: dev.metagen.meta.search.StepBeamSearch
        StepConfig lines = StepConfig.lines(12, 3);                    // a step is a line of at most 12 tokens
        MetaGenerator search = new StepBeamSearch(sampler, prm, lines, 2, 2);   // beam width 2, 2 steps per path
        Generation g = search.generate(Prompt.of("Once upon a time"), GenerationParams.of(48, new SamplingConfig()));
        // end
        assertEquals("step_beam_search", g.trace().get("strategy"));
        assertTrue(g.tokens().length > 0 && g.tokens().length <= 36, g.text());
    }

    @Test
    void monteCarloTreeSearch() {
        Scorer prm = LogprobScorer.mean();
        // example: dev.metagen.meta.search.MonteCarloTreeSearch
        MetaGenerator mcts = new MonteCarloTreeSearch(sampler, prm, StepConfig.lines(12, 3), 6, 2, 1.0, false);
        Generation g = mcts.generate(Prompt.of("Once upon a time"), GenerationParams.of(48, new SamplingConfig()));
        // 6 iterations of select, expand (2 sampled steps), value (prm) and back-up
        // end
        assertEquals("mcts", g.trace().get("strategy"));
        assertTrue(g.tokens().length > 0, g.trace().toString());
    }

    @Test
    void sandbox() {
        SandboxRequired.check();
        // example: dev.metagen.meta.tools.Sandbox
        Sandbox python = Sandbox.python(Sandbox.Limits.DEFAULT);
        ToolResult r = python.run("print(6 * 7)");
        // r.ok() and r.output() is "42\n"; a crash, a timeout or too much memory is r.ok() == false, r.error() says why
        // end
        assertTrue(r.ok(), r.error());
        assertEquals("42\n", r.output());
    }

    @Test
    void chain() {
        Generator writer = new CategoricalGenerator(new String[] {"21"}, new double[] {1.0});
        // example: dev.metagen.meta.chain.Chain
        MetaGenerator chain = new Chain(List.of(
                new Chain.Generate("answer", writer, "{prompt}"),
                new Chain.Parse("number", "answer", AnswerExtractors.lastNumber(), "0"),
                new Chain.CallTool("doubled", new Calculator(), "2 * {number}")),
                "doubled");
        Generation g = chain.generate(Prompt.of("Q: 1 + 1 = ?\nA:"), GenerationParams.greedy(16));
        // end
        assertEquals("42", g.text());
        assertEquals(1, g.cost().toolCalls());
    }

    @Test
    void debate() {
        Generator agentA = answers();
        Generator agentB = answers();
        Generator agentC = answers();
        // example: dev.metagen.meta.agent.Debate
        MetaGenerator debate = new Debate(List.of(agentA, agentB, agentC), 2, Debate.TEMPLATE,
                AnswerExtractors.lastNumber(), null, Debate.AGGREGATOR_TEMPLATE);   // null: a majority vote decides
        Generation g = debate.generate(Prompt.of("Q: 17 * 3 = ?\nA:"), GenerationParams.greedy(64));
        // 3 agents answer, then revise twice after reading each other: 9 calls
        // end
        assertEquals(9, g.cost().modelCalls());
        assertTrue(g.text().startsWith("The answer is "), g.text());
    }
}
