package dev.metagen.meta.agent;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecCost;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecs;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Multi-agent debate with agents whose answers depend on what they read, so every round's effect is known. */
class DebateTest {
    static final GenerationParams P = new GenerationParams(16, 0.8, 0, 1.0, 7, true, List.of());
    static final Prompt Q = Prompt.of("What is 2 + 3?");

    /** An agent that answers {@code rule(prompt)} and records every prompt it read; one model call, 2 tokens. */
    record Agent(Function<String, String> rule, List<String> prompts) implements Generator {
        Agent(Function<String, String> rule) {
            this(rule, new CopyOnWriteArrayList<>());
        }

        @Override
        public Generation generate(Prompt prompt, GenerationParams params) {
            prompts.add(prompt.text());
            return new Generation(rule.apply(prompt.text()), new int[]{1, 2}, new double[]{-0.1, -0.2}, FinishReason.STOP,
                    new Cost(prompt.text().length(), 2, 1, 0, Duration.ZERO), Map.of());
        }
    }

    /** A says 5 always; B says 3 until it reads a 5; C says 3 until it reads two 5s. */
    static List<Agent> persuadable() {
        return List.of(new Agent(p -> "The answer is 5."),
                new Agent(p -> p.contains("The answer is 5") ? "I now think the answer is 5." : "The answer is 3."),
                new Agent(p -> p.split("answer is 5", -1).length - 1 >= 2 ? "Fine, the answer is 5." : "The answer is 3."));
    }

    static Debate debate(List<? extends Generator> agents, int rounds, Generator aggregator) {
        return new Debate(List.copyOf(agents), rounds, Debate.TEMPLATE, AnswerExtractors.lastNumber(), aggregator, Debate.AGGREGATOR_TEMPLATE);
    }

    @Test
    void withoutRoundsTheMajorityOfFirstAnswersWins() {
        Generation r = debate(persuadable(), 0, null).generate(Q, P);
        assertEquals("3", r.trace().get("answer"));
        assertEquals(3, r.cost().modelCalls());
        assertEquals(FinishReason.STOP, r.finish());
    }

    @Test
    void agentsReadEachOthersPreviousAnswersAndConvergeOverRounds() {
        List<Agent> agents = persuadable();
        Generation r = debate(agents, 2, null).generate(Q, P);
        assertEquals("5", r.trace().get("answer"));
        assertEquals(Map.of("5", 3.0), r.trace().get("votes"));
        assertEquals(9, r.cost().modelCalls());
        assertEquals(18, r.cost().generatedTokens());
        // round 0 reads the question; round 1 reads its own answer and only the others' under their agent numbers
        Agent b = agents.get(1);
        assertEquals(List.of(Q.text()), b.prompts().subList(0, 1));
        String round1 = b.prompts().get(1);
        assertTrue(round1.contains("Your previous answer:\nThe answer is 3."), round1);
        assertTrue(round1.contains("Agent 1: The answer is 5.") && round1.contains("Agent 3: The answer is 3."), round1);
        assertFalse(round1.contains("Agent 2:"), round1);
        @SuppressWarnings("unchecked")
        List<List<Map<String, Object>>> rounds = (List<List<Map<String, Object>>>) r.trace().get("rounds");
        assertEquals(3, rounds.size());
        assertEquals(List.of("5", "3", "3"), rounds.get(0).stream().map(m -> m.get("answer")).toList());
        assertEquals(List.of("5", "5", "3"), rounds.get(1).stream().map(m -> m.get("answer")).toList());
        assertEquals(List.of("5", "5", "5"), rounds.get(2).stream().map(m -> m.get("answer")).toList());
    }

    @Test
    void anAggregatorReadsEveryFinalAnswerOnce() {
        Agent judge = new Agent(p -> p.contains("Agent 3: The answer is 3.") ? "Final: 3" : "Final: 5");
        Generation r = debate(persuadable(), 1, judge).generate(Q, P);
        assertEquals(1, judge.prompts().size());
        assertTrue(judge.prompts().getFirst().contains("Agent 1: The answer is 5.\n\nAgent 2: I now think the answer is 5."), judge.prompts().getFirst());
        assertEquals("Final: 3", r.text());
        assertEquals("3", r.trace().get("answer"));
        assertEquals(7, r.cost().modelCalls());
    }

    @Test
    void aCallBudgetStopsTheDebateWithTheLatestAnswers() {
        Generation r = debate(persuadable(), 3, new Agent(p -> "never")).generate(Q, P, Budget.calls(4), new Cancellation());
        assertEquals(FinishReason.BUDGET, r.finish());
        assertTrue(r.cost().modelCalls() <= 4, r.cost().toString());
        assertTrue(r.text().contains("answer is"), r.text()); // an agent's answer, not the aggregator's
    }

    @Test
    void aCancelledDebateMakesNoCalls() {
        Cancellation c = new Cancellation();
        c.cancel();
        List<Agent> agents = persuadable();
        Generation r = debate(agents, 2, null).generate(Q, P, Budget.UNLIMITED, c);
        assertEquals(FinishReason.CANCELLED, r.finish());
        assertEquals(0, agents.stream().mapToInt(a -> a.prompts().size()).sum());
    }

    @Test
    void seededDebatesRepeatAndCallsAreSeededByRoundAndAgent() {
        List<Long> seeds = new CopyOnWriteArrayList<>();
        Generator seedEcho = (prompt, params) -> {
            seeds.add(params.seed());
            return new Generation("The answer is " + Math.floorMod(params.seed(), 3) + ".", new int[]{1}, new double[]{-1},
                    FinishReason.STOP, new Cost(1, 1, 1, 0, Duration.ZERO), Map.of());
        };
        Generation a = debate(List.of(seedEcho, seedEcho, seedEcho), 1, null).generate(Q, P);
        Generation b = debate(List.of(seedEcho, seedEcho, seedEcho), 1, null).generate(Q, P);
        assertEquals(a.text(), b.text());
        assertEquals(a.trace().get("rounds"), b.trace().get("rounds"));
        assertEquals(12, seeds.size());
        assertEquals(6, Set.copyOf(seeds).size()); // six distinct calls per debate, each with its own seed
    }

    static final LeafFactory LEAVES = new LeafFactory() {
        @Override
        public Set<String> types() {
            return Set.of("sample");
        }

        @Override
        public Generator create(String type, SpecNode node) {
            return new Agent(p -> "The answer is 4.");
        }
    };

    @Test
    void specsBuildDebatesAndRefuseMalformedOnesByPath() {
        var specs = new StrategySpecs(LEAVES);
        Generation r = specs.parse("{\"type\":\"debate\",\"rounds\":1,\"agents\":[{\"type\":\"sample\"},{\"type\":\"sample\",\"temperature\":0.5}]}")
                .generator().generate(Q, P);
        assertEquals("4", r.trace().get("answer"));
        assertEquals(4, r.cost().modelCalls());
        Generation n3 = specs.parse("{\"type\":\"debate\",\"n\":3,\"rounds\":0,\"inner\":{\"type\":\"sample\"}}").generator().generate(Q, P);
        assertEquals(3, n3.cost().modelCalls());
        assertTrue(error(specs, "{\"type\":\"debate\",\"agents\":[{\"type\":\"sample\"}]}").contains("$.agents"));
        assertTrue(error(specs, "{\"type\":\"debate\",\"n\":1,\"inner\":{\"type\":\"sample\"}}").contains("$.n"));
        assertTrue(error(specs, "{\"type\":\"debate\",\"n\":2,\"inner\":{\"type\":\"sample\"},\"agents\":[]}").contains("$.agents"));
        assertTrue(error(specs, "{\"type\":\"debate\",\"inner\":{\"type\":\"sample\"},\"aggregator_template\":\"x\"}").contains("$.aggregator_template"));
        assertTrue(error(specs, "{\"type\":\"debate\",\"inner\":{\"type\":\"sample\"},\"round\":2}").contains("round"));
    }

    static String error(StrategySpecs specs, String json) {
        return assertThrows(MetagenException.class, () -> specs.parse(json)).getMessage();
    }

    @Test
    void theSpecCostCountsEveryAgentInEveryRoundAndTheAggregator() {
        SpecCost c = SpecCost.estimate("{\"type\":\"debate\",\"rounds\":2,\"agents\":[{\"type\":\"sample\",\"max_tokens\":10},"
                + "{\"type\":\"sample\",\"max_tokens\":20}],\"aggregator\":{\"type\":\"sample\",\"max_tokens\":5}}", 64);
        assertEquals(3 * 2 + 1, c.calls());
        assertEquals(3 * 30 + 5, c.generatedTokens());
        assertEquals(3 * 3 * 64, SpecCost.estimate("{\"type\":\"debate\",\"n\":3,\"inner\":{\"type\":\"sample\"}}", 64).generatedTokens());
    }
}
