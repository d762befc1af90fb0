package dev.metagen.server.accounting;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.llamacpp.testing.TestBackend;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.runtime.LeafGenerators;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every leaf type under every kind of parent strategy, built from spec JSON by the server's leaf factory over
 * stories260K wrapped in a forward counter: reported model calls equal the forwards the model made, reported prompt
 * tokens equal the tokens it prefilled, call and token budgets hold, a cancellation fired from another thread ends
 * every running leaf within one token, and a seeded run gives the same text twice.
 */
@org.junit.jupiter.api.Tag("model")
class LeafStrategyPropertiesTest {
    static LanguageModel stories;
    static CountingModel model;
    static final Prompt PROMPT = Prompt.of("Once upon a time");

    static final Map<String, String> LEAVES = new LinkedHashMap<>();
    static final Map<String, String> PARENTS = new LinkedHashMap<>();

    static {
        LEAVES.put("sample", "{\"type\":\"sample\",\"temperature\":0.9}");
        LEAVES.put("greedy", "{\"type\":\"greedy\"}");
        LEAVES.put("beam", "{\"type\":\"beam\",\"beams\":3}");
        LEAVES.put("contrastive", "{\"type\":\"contrastive\",\"k\":3,\"alpha\":0.6}");
        LEAVES.put("constrained", "{\"type\":\"constrained\",\"regex\":\"[a-z]{1,6}( [a-z]{1,6}){0,40}\"}");
        String steps = "\"delimiter\":\" \",\"step_max_tokens\":3,\"max_steps\":3";
        PARENTS.put("best_of_n", "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":LEAF}");
        PARENTS.put("majority_vote", "{\"type\":\"majority_vote\",\"n\":2,\"extractor\":{\"type\":\"text\"},\"inner\":LEAF}");
        PARENTS.put("weighted_vote", "{\"type\":\"weighted_vote\",\"n\":2,\"extractor\":{\"type\":\"text\"},\"scorer\":{\"type\":\"logprob\"},\"inner\":LEAF}");
        PARENTS.put("step_beam_search", "{\"type\":\"step_beam_search\",\"scorer\":{\"type\":\"mean_logprob\"},\"beam_width\":2,\"expand\":2," + steps + ",\"inner\":LEAF}");
        PARENTS.put("mcts", "{\"type\":\"mcts\",\"scorer\":{\"type\":\"mean_logprob\"},\"iterations\":3,\"width\":2," + steps + ",\"inner\":LEAF}");
        PARENTS.put("self_refine", "{\"type\":\"self_refine\",\"max_rounds\":1,\"feedback_max_tokens\":3,\"stop_pattern\":\"zzzz\",\"inner\":LEAF}");
        PARENTS.put("refine", "{\"type\":\"refine\",\"verifier\":{\"type\":\"contains\",\"words\":[\"zebra\"]},\"max_rounds\":1,\"inner\":LEAF}");
        PARENTS.put("debate", "{\"type\":\"debate\",\"n\":2,\"rounds\":1,\"extractor\":{\"type\":\"text\"},\"inner\":LEAF}");
        PARENTS.put("cascade", "{\"type\":\"cascade\",\"stages\":[{\"generator\":LEAF,\"min_mean_logprob\":-0.01},{\"generator\":LEAF}]}");
    }

    /** The most leaf calls of one strategy above that run at the same time (step beam search: 2 x 2). */
    static final int MAX_CONCURRENT_LEAVES = 4;

    @BeforeAll
    static void open() {
        stories = TestBackend.stories260k(); // the engine, or llama.cpp in the llamacpp-backend run
        model = new CountingModel(stories);
    }

    @AfterAll
    static void close() {
        stories.close();
    }

    static StrategySpecs.Strategy parse(String parent, String leaf, String budget) {
        String spec = PARENTS.get(parent).replace("LEAF", LEAVES.get(leaf));
        if (budget != null) {
            spec = spec.substring(0, spec.length() - 1) + ",\"budget\":" + budget + "}";
        }
        return new StrategySpecs(new LeafGenerators(model)).parse(spec);
    }

    static GenerationParams params(int maxTokens, long seed) {
        return new GenerationParams(maxTokens, 0.9, 0, 1.0, seed, true, List.of());
    }

    static Generation run(StrategySpecs.Strategy s, GenerationParams p, Cancellation c) {
        return ((MetaGenerator) s.generator()).generate(PROMPT, p, s.budget(), c);
    }

    @Test
    void costsEqualTheModelsOwnCountsAndSeededRunsRepeat() {
        List<String> failures = new ArrayList<>();
        for (String parent : PARENTS.keySet()) {
            for (String leaf : LEAVES.keySet()) {
                String what = parent + " over " + leaf;
                model.reset();
                model.serial = true; // seeding is checked apart from the float rounding of merged passes
                Generation a = run(parse(parent, leaf, null), params(6, 11), new Cancellation());
                long calls = model.calls.get();
                long prefill = model.prefillTokens.get();
                Generation b = run(parse(parent, leaf, null), params(6, 11), new Cancellation());
                check(failures, what + ": model calls", calls, a.cost().modelCalls());
                check(failures, what + ": prompt tokens", prefill, a.cost().promptTokens());
                check(failures, what + ": calls were made", true, calls > 0);
                check(failures, what + ": seeded text repeats", a.text(), b.text());
                check(failures, what + ": finish", true, a.finish() == FinishReason.STOP || a.finish() == FinishReason.LENGTH);
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    @Test
    void callAndTokenBudgetsHold() {
        List<String> failures = new ArrayList<>();
        for (String parent : PARENTS.keySet()) {
            for (String leaf : LEAVES.keySet()) {
                model.reset();
                Generation free = run(parse(parent, leaf, null), params(12, 5), new Cancellation());
                long freeCalls = model.calls.get();
                for (String budget : List.of("{\"calls\":7}", "{\"tokens\":5}")) {
                    String what = parent + " over " + leaf + " under " + budget;
                    model.reset();
                    Generation g = run(parse(parent, leaf, budget), params(12, 5), new Cancellation());
                    long calls = model.calls.get();
                    check(failures, what + ": reported calls", calls, g.cost().modelCalls());
                    if (budget.contains("calls")) {
                        check(failures, what + ": at most 7 calls (made " + calls + ")", true, calls <= 7);
                    } else {
                        check(failures, what + ": at most 5 tokens (" + g.cost().generatedTokens() + ")", true, g.cost().generatedTokens() <= 5);
                    }
                    boolean binding = budget.contains("calls") ? freeCalls > 7 : free.cost().generatedTokens() > 5;
                    // a budget the free run fits in may still refuse a call: running siblings hold their worst case
                    check(failures, what + ": finish (without the budget: " + freeCalls + " calls, "
                            + free.cost().generatedTokens() + " tokens; got " + g.finish() + ")", true,
                            g.finish() == FinishReason.BUDGET || (!binding && g.finish() == free.finish()));
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    /** Cancels {@code c} from another thread during the model's {@code at}-th forward; returns the count then. */
    static AtomicLong cancelAt(long at, Cancellation c) {
        AtomicLong atCancel = new AtomicLong(-1);
        model.onCall(n -> {
            if (n == at) {
                CountingModel.joinUninterruptibly(Thread.ofVirtual().start(c::cancel));
                atCancel.set(model.calls.get());
            }
        });
        return atCancel;
    }

    @Test
    void aCancellationEndsEveryLeafWithinOneToken() {
        List<String> failures = new ArrayList<>();
        Map<String, String> parents = new LinkedHashMap<>(PARENTS);
        String steps = "\"delimiter\":\" \",\"step_max_tokens\":3,\"max_steps\":3";
        parents.put("tot", "{\"type\":\"tot\",\"mode\":\"dfs\",\"k\":2,\"value\":{\"type\":\"mean_logprob\"}," + steps + ",\"inner\":LEAF}");
        parents.put("best_first", "{\"type\":\"best_first\",\"scorer\":{\"type\":\"mean_logprob\"},\"expand\":2," + steps + ",\"inner\":LEAF}");
        parents.put("dvts", "{\"type\":\"dvts\",\"scorer\":{\"type\":\"mean_logprob\"},\"n\":4,\"width\":2," + steps + ",\"inner\":LEAF}");
        for (var parent : parents.entrySet()) {
            PARENTS.putIfAbsent(parent.getKey(), parent.getValue());
            for (String leaf : LEAVES.keySet()) {
                String what = parent.getKey() + " over " + leaf;
                model.reset();
                Cancellation c = new Cancellation();
                AtomicLong atCancel = cancelAt(8, c);
                // long leaves: without the cancellation this would take hundreds of forwards
                Generation g = run(parse(parent.getKey(), leaf, null), params(120, 3), c);
                long after = model.calls.get() - atCancel.get();
                check(failures, what + ": cancelled at the 8th forward (" + atCancel.get() + ")", true, atCancel.get() >= 8);
                check(failures, what + ": forwards started after the cancellation (" + after + ")", true, after <= MAX_CONCURRENT_LEAVES);
                check(failures, what + ": finish", FinishReason.CANCELLED, g.finish());
                check(failures, what + ": reported calls", model.calls.get(), g.cost().modelCalls());
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    @Test
    void bestOfTwoOverThreeBeamLeavesReportsTheForwardsMade() {
        model.reset();
        Generation g = run(parse("best_of_n", "beam", null), params(10, 1), new Cancellation());
        assertEquals(model.calls.get(), g.cost().modelCalls());
        assertTrue(g.cost().modelCalls() <= 2 * 10, g.cost().modelCalls() + " calls for two 10-token beam searches");
    }

    private static void check(List<String> failures, String what, Object expected, Object actual) {
        if (!expected.equals(actual)) {
            failures.add(what + ": expected " + expected + ", got " + actual);
        }
    }
}
