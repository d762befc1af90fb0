package dev.metagen.server.accounting;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.llamacpp.testing.TestBackend;
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

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LeafStrategyPropertiesTest}'s properties for the newer leaf types (speculative decoding by prompt lookup
 * and by a draft model, stochastic beam search, FUDGE with a verifier as discriminator, sequential Monte Carlo,
 * token healing) and a sample leaf with classifier-free guidance, under the same parents: reported model calls and
 * prompt tokens equal what the model was asked to do (guidance contexts and draft models included), the leaves'
 * worst-case bounds (what budgets reserve) hold, budgets hold, a cancellation ends every leaf within one step, and
 * seeded runs repeat.
 */
@org.junit.jupiter.api.Tag("model")
class NewerLeafPropertiesTest {
    static LanguageModel stories;
    static CountingModel model;
    static final Prompt PROMPT = Prompt.of("Once upon a time");

    static final Map<String, String> LEAVES = new LinkedHashMap<>();

    static {
        LEAVES.put("lookup", "{\"type\":\"speculative\",\"lookup\":true,\"draft_k\":3}");
        LEAVES.put("draft", "{\"type\":\"speculative\",\"draft\":\"default\",\"draft_k\":3}");
        LEAVES.put("stochastic_beam", "{\"type\":\"stochastic_beam\",\"beams\":3}");
        LEAVES.put("fudge", "{\"type\":\"fudge\",\"scorer\":{\"type\":\"regex\",\"pattern\":\"^[^0-9]*$\"},\"candidates\":5}");
        LEAVES.put("smc", "{\"type\":\"smc\",\"particles\":3,\"tokens_per_step\":2}");
        LEAVES.put("token_healing", "{\"type\":\"token_healing\"}");
        // a negative prompt of several tokens: a one-token context fed alone looks like decoding to the counter
        LEAVES.put("cfg", "{\"type\":\"sample\",\"cfg_scale\":2,\"cfg_negative_prompt\":\"The dog ran\"}");
    }

    /** The parents of {@link LeafStrategyPropertiesTest} (its cancellation test adds three search parents). */
    static final Map<String, String> PARENTS = new LinkedHashMap<>(LeafStrategyPropertiesTest.PARENTS);

    static {
        PARENTS.keySet().removeAll(List.of("tot", "best_first", "dvts"));
    }

    @BeforeAll
    static void open() {
        stories = TestBackend.stories260k(); // the engine, or llama.cpp in the llamacpp-backend run
        model = new CountingModel(stories);
    }

    @AfterAll
    static void close() {
        stories.close();
    }

    static StrategySpecs.Strategy parse(String spec) {
        return new StrategySpecs(new LeafGenerators(model)).parse(spec);
    }

    static StrategySpecs.Strategy parse(String parent, String leaf, String budget) {
        String spec = PARENTS.get(parent).replace("LEAF", LEAVES.get(leaf));
        if (budget != null) {
            spec = spec.substring(0, spec.length() - 1) + ",\"budget\":" + budget + "}";
        }
        return parse(spec);
    }

    static Generation run(StrategySpecs.Strategy s, GenerationParams p, Cancellation c) {
        return ((MetaGenerator) s.generator()).generate(PROMPT, p, s.budget(), c);
    }

    static GenerationParams params(int maxTokens, long seed) {
        return LeafStrategyPropertiesTest.params(maxTokens, seed);
    }

    @Test
    void eachLeafAloneReportsWhatItDidWithinItsBounds() {
        List<String> failures = new ArrayList<>();
        for (String leaf : LEAVES.keySet()) {
            Generator g = parse(LEAVES.get(leaf)).generator();
            for (int maxTokens : new int[]{1, 6, 20}) {
                String what = leaf + " with max_tokens " + maxTokens;
                GenerationParams p = params(maxTokens, 5);
                model.reset();
                Generation a = g.generate(PROMPT, p);
                long calls = model.calls.get();
                check(failures, what + ": model calls", calls, a.cost().modelCalls());
                check(failures, what + ": prompt tokens", model.prefillTokens.get(), a.cost().promptTokens());
                check(failures, what + ": calls within maxModelCalls " + g.maxModelCalls(PROMPT, p) + " (made " + calls + ")",
                        true, calls <= g.maxModelCalls(PROMPT, p));
                check(failures, what + ": tokens within maxGeneratedTokens " + g.maxGeneratedTokens(PROMPT, p) + " (reported "
                        + a.cost().generatedTokens() + ")", true, a.cost().generatedTokens() <= g.maxGeneratedTokens(PROMPT, p));
                check(failures, what + ": at most max_tokens tokens", true, a.tokens().length <= maxTokens);
                check(failures, what + ": seeded text repeats", a.text(), g.generate(PROMPT, p).text());
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    /**
     * Sequential Monte Carlo refuses what some parents ask of it (checked in {@link #smcRefusesWhatItCannotDo}): step
     * searches cut steps with a stop string, and self-refinement asks its inner generator for greedy feedback.
     */
    static boolean refused(String parent, String leaf) {
        return leaf.equals("smc") && List.of("step_beam_search", "mcts", "self_refine").contains(parent);
    }

    @Test
    void smcRefusesWhatItCannotDo() {
        for (String parent : List.of("step_beam_search", "mcts", "self_refine")) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(dev.metagen.core.MetagenException.class,
                    () -> run(parse(parent, "smc", null), params(6, 1), new Cancellation()));
            assertTrue(e.getMessage().contains(parent.equals("self_refine") ? "it needs a temperature > 0"
                    : "sequential Monte Carlo cannot apply stop strings"), e.getMessage());
        }
    }

    @Test
    void costsEqualTheModelsOwnCountsAndSeededRunsRepeat() {
        List<String> failures = new ArrayList<>();
        for (String parent : PARENTS.keySet()) {
            for (String leaf : LEAVES.keySet()) {
                if (refused(parent, leaf)) {
                    continue;
                }
                String what = parent + " over " + leaf;
                model.reset();
                model.serial = true; // seeding is checked apart from the float rounding of merged passes
                Generation a;
                try {
                    a = run(parse(parent, leaf, null), params(6, 11), new Cancellation());
                } catch (RuntimeException e) {
                    failures.add(what + ": " + e.getMessage());
                    continue;
                }
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
                if (refused(parent, leaf)) {
                    continue;
                }
                for (String budget : List.of("{\"calls\":7}", "{\"tokens\":5}")) {
                    String what = parent + " over " + leaf + " under " + budget;
                    model.reset();
                    Generation g;
                    try {
                        g = run(parse(parent, leaf, budget), params(12, 5), new Cancellation());
                    } catch (RuntimeException e) {
                        failures.add(what + ": " + e.getMessage());
                        continue;
                    }
                    long calls = model.calls.get();
                    check(failures, what + ": reported calls", calls, g.cost().modelCalls());
                    if (budget.contains("calls")) {
                        check(failures, what + ": at most 7 calls (made " + calls + ")", true, calls <= 7);
                    } else {
                        check(failures, what + ": at most 5 tokens (" + g.cost().generatedTokens() + ")", true, g.cost().generatedTokens() <= 5);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    @Test
    void aCancellationEndsEveryLeafWithinOneStep() {
        List<String> failures = new ArrayList<>();
        for (String parent : PARENTS.keySet()) {
            for (String leaf : LEAVES.keySet()) {
                // a healed step regenerates the prompt's last bytes, and a step search's delimiter among them ends
                // the step at once: those searches finish in a few forwards, before the cancellation would come
                if (refused(parent, leaf) || leaf.equals("token_healing") && List.of("step_beam_search", "mcts").contains(parent)) {
                    continue;
                }
                String what = parent + " over " + leaf;
                model.reset();
                Cancellation c = new Cancellation();
                AtomicLong atCancel = new AtomicLong(-1);
                model.onCall(n -> {
                    if (n == 8) {
                        CountingModel.joinUninterruptibly(Thread.ofVirtual().start(c::cancel));
                        atCancel.set(model.calls.get());
                    }
                });
                // long leaves: without the cancellation this would take hundreds of forwards
                Generation g = run(parse(parent, leaf, null), params(120, 3), c);
                long after = model.calls.get() - atCancel.get();
                check(failures, what + ": cancelled at the 8th forward (" + atCancel.get() + ")", true, atCancel.get() >= 8);
                check(failures, what + ": forwards started after the cancellation (" + after + ")", true,
                        after <= LeafStrategyPropertiesTest.MAX_CONCURRENT_LEAVES);
                check(failures, what + ": finish", FinishReason.CANCELLED, g.finish());
                check(failures, what + ": reported calls", model.calls.get(), g.cost().modelCalls());
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    private static void check(List<String> failures, String what, Object expected, Object actual) {
        if (!expected.equals(actual)) {
            failures.add(what + ": expected " + expected + ", got " + actual);
        }
    }
}
