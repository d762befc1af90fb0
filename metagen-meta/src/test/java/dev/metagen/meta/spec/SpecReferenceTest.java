package dev.metagen.meta.spec;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spec reference comes from the registry: every type, with the fields its builder reads. */
class SpecReferenceTest {
    static Map<String, SpecReference.Entry> byType(String kind) {
        return SpecReference.of(StrategySpecsTest.specs()).stream().filter(e -> e.kind().equals(kind))
                .collect(Collectors.toMap(SpecReference.Entry::type, e -> e));
    }

    @Test
    void everyRegisteredStrategyIsListed() {
        Map<String, SpecReference.Entry> s = byType("strategy");
        StrategySpecs specs = StrategySpecsTest.specs();
        assertEquals(specs.strategyTypes(), s.keySet());
        specs.registerStrategy("app_defined", n -> specs.generator(n.requireChild("inner")));
        assertTrue(SpecReference.of(specs).stream().anyMatch(e -> e.type().equals("app_defined") && e.keys().equals(List.of("inner"))),
                "a type an application registers shows up with its fields");
    }

    @Test
    void fieldsAreTheOnesTheBuildersRead() {
        Map<String, SpecReference.Entry> s = byType("strategy");
        assertEquals(List.of("inner", "n", "scorer"), s.get("best_of_n").keys());
        assertEquals(List.of("exp_weights", "extractor", "inner", "n", "scorer"), s.get("weighted_vote").keys());
        assertEquals(Set.of("inner", "scorer", "iterations", "width", "c_puct", "rollouts", "delimiter", "step_max_tokens",
                "max_steps", "final_pattern"), Set.copyOf(s.get("mcts").keys()));
        // both branches of tree of thoughts (a value scorer, or a vote with its own fields)
        assertTrue(s.get("tot").keys().containsAll(List.of("value", "vote", "vote.judge", "vote.votes", "vote.template",
                "vote.max_tokens", "vote.temperature", "k", "breadth", "threshold", "max_nodes", "mode")), s.get("tot").keys().toString());
        assertTrue(s.get("tot").complete());
        assertTrue(s.get("cascade").keys().containsAll(List.of("stages", "stages[].generator", "stages[].verifier", "stages[].min_mean_logprob")),
                s.get("cascade").keys().toString());
        assertEquals(List.of("calls", "time_ms", "tokens"), byType("budget").get("budget").keys());
        assertEquals(List.of("alpha"), byType("scorer").get("mean_logprob").keys());
        assertEquals(List.of("group", "pattern"), byType("extractor").get("regex").keys());
    }

    @Test
    void everyStrategyButTheChainAndTheToolLoopIsProbedToTheEnd() {
        // a chain's link kind and a tool loop's tool type are closed sets an empty spec cannot pick: the fields read
        // after the links (chain) or the tools (tool_loop) are not found
        Set<String> partial = byType("strategy").values().stream().filter(e -> !e.complete()).map(SpecReference.Entry::type)
                .collect(Collectors.toSet());
        assertEquals(Set.of("chain", "tool_loop"), partial);
        assertTrue(SpecReference.generationFields().containsAll(List.of("temperature", "top_p", "max_tokens", "stop", "json_schema")));
    }
}
