package dev.metagen.meta;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.meta.parallel.BestOfN;
import dev.metagen.meta.parallel.MajorityVote;
import dev.metagen.meta.parallel.RejectionSampling;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.ContainsWordsVerifier;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.search.MonteCarloTreeSearch;
import dev.metagen.meta.search.StepBeamSearch;
import dev.metagen.meta.search.StepConfig;
import dev.metagen.meta.testing.CountingModel;
import dev.metagen.core.LanguageModel;
import dev.metagen.meta.testing.Stories;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Meta-generators on the real stories260K model, checked against the model's own numbers. */
@Tag("model")
class StoriesStrategiesTest {
    static LanguageModel model;
    static final Prompt PROMPT = Prompt.of("Once upon a time");

    @BeforeAll
    static void load() {
        model = Stories.load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static GenerationParams sampling(int maxTokens, long seed) {
        return new GenerationParams(maxTokens, 1.0, 0, 1.0, seed, true, List.of());
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> rows(Generation g, String key) {
        return (List<Map<String, Object>>) g.trace().get(key);
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> nodes(Generation g) {
        return (List<Map<String, Object>>) ((Map<String, Object>) g.trace().get("tree")).get("nodes");
    }

    @Test
    void bestOfNByLogprobReturnsTheHighestScoringCandidateAndScoresAreTheModels() {
        int[] promptIds = model.tokenizer().encode(PROMPT.text(), true, false);
        List<Generation> seen = new ArrayList<>();
        SamplingGenerator leaf = new SamplingGenerator(model);
        BestOfN best = new BestOfN((p, params) -> {
            Generation g = leaf.generate(p, params);
            synchronized (seen) {
                seen.add(g);
            }
            return g;
        }, 4, LogprobScorer.sum());
        Generation r = best.generate(PROMPT, sampling(20, 11));
        assertEquals(4, seen.size());
        double max = Double.NEGATIVE_INFINITY;
        for (Generation g : seen) {
            // the scorer's number is the model's teacher-forced log-probability of the candidate
            assertEquals(Stories.logprob(model, promptIds, g.tokens()), g.sumLogprob(), 1e-3);
            max = Math.max(max, g.sumLogprob());
        }
        assertEquals(max, r.sumLogprob(), 0.0);
        assertEquals(max, (double) r.trace().get("chosen_score"), 0.0);
        for (Map<String, Object> row : rows(r, "candidates")) {
            assertTrue((double) row.get("score") <= max);
        }
    }

    @Test
    void costsAddUpExactlyToTheModelsOwnCounts() {
        CountingModel counted = new CountingModel(model);
        int promptLen = model.tokenizer().encode(PROMPT.text(), true, false).length;
        SamplingGenerator leaf = new SamplingGenerator(counted);
        List<Generation> seen = new ArrayList<>();
        MajorityVote vote = new MajorityVote((p, params) -> {
            Generation g = leaf.generate(p, params);
            synchronized (seen) {
                seen.add(g);
            }
            return g;
        }, 5, AnswerExtractors.text());
        Generation r = vote.generate(PROMPT, sampling(16, 3));
        long generated = seen.stream().mapToLong(g -> g.tokens().length).sum();
        assertEquals(5, seen.size());
        assertEquals(generated, r.cost().generatedTokens());
        assertEquals(5L * promptLen, r.cost().promptTokens());
        assertEquals(counted.prefillTokens.get(), r.cost().promptTokens());
        assertEquals(counted.forwards.get(), r.cost().modelCalls());
        assertEquals(0, r.cost().toolCalls());
    }

    @Test
    void stepBeamSearchTraceIsConsistent() {
        CountingModel counted = new CountingModel(model);
        StepBeamSearch search = new StepBeamSearch(new SamplingGenerator(counted), LogprobScorer.mean(),
                new StepConfig(".", 16, 3, null), 2, 2);
        Generation r = search.generate(PROMPT, sampling(64, 5));
        List<Map<String, Object>> nodes = nodes(r);
        Map<Integer, Map<String, Object>> byId = new HashMap<>();
        for (Map<String, Object> n : nodes) {
            byId.put((int) n.get("id"), n);
        }
        // each round's beam holds the best-scoring open children of that round
        @SuppressWarnings("unchecked")
        List<List<Integer>> beams = (List<List<Integer>>) r.trace().get("beams");
        assertFalse(beams.isEmpty());
        for (int round = 0; round < beams.size(); round++) {
            int depth = round + 1;
            double worstKept = Double.POSITIVE_INFINITY;
            for (int id : beams.get(round)) {
                assertEquals(depth, byId.get(id).get("depth"));
                assertFalse((boolean) byId.get(id).get("terminal"));
                worstKept = Math.min(worstKept, (double) byId.get(id).get("score"));
            }
            for (Map<String, Object> n : nodes) {
                if ((int) n.get("depth") == depth && !(boolean) n.get("terminal") && !beams.get(round).contains((int) n.get("id"))) {
                    assertTrue((double) n.get("score") <= worstKept, "a better open node was dropped: " + n);
                }
            }
        }
        for (Map<String, Object> n : nodes) {
            int parent = (int) n.get("parent");
            if (parent >= 0) {
                assertEquals((int) byId.get(parent).get("depth") + 1, n.get("depth"));
            }
        }
        // the answer is the best complete path, and its score is its mean token log-probability
        int chosen = (int) r.trace().get("chosen_node");
        assertTrue((boolean) byId.get(chosen).get("terminal"));
        for (Map<String, Object> n : nodes) {
            if ((boolean) n.get("terminal")) {
                assertTrue((double) n.get("score") <= (double) r.trace().get("chosen_score"));
            }
        }
        assertEquals(LogprobScorer.mean().score(PROMPT, r), (double) r.trace().get("chosen_score"), 1e-12);
        int[] promptIds = model.tokenizer().encode(PROMPT.text(), true, false);
        assertEquals(Stories.logprob(model, promptIds, r.tokens()), r.sumLogprob(), 1e-3);
        assertEquals(counted.forwards.get(), r.cost().modelCalls());
        assertEquals(counted.prefillTokens.get(), r.cost().promptTokens());
    }

    @Test
    void mctsVisitCountsAndValuesAreConsistent() {
        MonteCarloTreeSearch mcts = new MonteCarloTreeSearch(new SamplingGenerator(model), LogprobScorer.mean(),
                new StepConfig(".", 12, 3, null), 6, 2, 1.0, false);
        Generation r = mcts.generate(PROMPT, sampling(48, 9));
        List<Map<String, Object>> nodes = nodes(r);
        Map<Integer, List<Map<String, Object>>> children = new HashMap<>();
        for (Map<String, Object> n : nodes) {
            children.computeIfAbsent((int) n.get("parent"), k -> new ArrayList<>()).add(n);
        }
        assertTrue(nodes.size() > 1);
        for (Map<String, Object> n : nodes) {
            List<Map<String, Object>> cs = children.getOrDefault((int) n.get("id"), List.of());
            int visits = (int) n.get("visits");
            if (!cs.isEmpty()) {
                int sum = cs.stream().mapToInt(c -> (int) c.get("visits")).sum();
                boolean root = (int) n.get("parent") < 0;
                assertEquals(root ? sum : 1 + sum, visits, "visit count of node " + n.get("id"));
                double priors = cs.stream().mapToDouble(c -> (double) c.get("prior")).sum();
                assertEquals(1.0, priors, 1e-9);
            }
            if (visits > 0 && cs.isEmpty() && !(boolean) n.get("terminal")) {
                // an unexpanded leaf was valued once, by the scorer on its own path
                assertEquals((double) n.get("score"), (double) n.get("value"), 1e-12);
            }
        }
        // the answer follows the most-visited child at every level
        int id = (int) r.trace().get("chosen_node");
        // each iteration either expanded a leaf (width new visits) or re-selected a complete path (one visit)
        Map<String, Object> root = nodes.getFirst();
        int expansions = (int) nodes.stream().filter(n -> children.containsKey((int) n.get("id"))).count();
        int reselections = countTerminalRevisits(nodes);
        assertEquals(6, expansions + reselections);
        assertEquals(2 * expansions + reselections, (int) root.get("visits"));
        assertNotNull(r.text());
        Map<Integer, Map<String, Object>> byId = new HashMap<>();
        nodes.forEach(n -> byId.put((int) n.get("id"), n));
        for (int at = id; (int) byId.get(at).get("parent") >= 0; at = (int) byId.get(at).get("parent")) {
            int visits = (int) byId.get(at).get("visits");
            for (Map<String, Object> sib : children.get((int) byId.get(at).get("parent"))) {
                assertTrue((int) sib.get("visits") <= visits);
            }
        }
    }

    /** Visits of terminal nodes beyond their first valuation (a selected terminal leaf is backed up again). */
    static int countTerminalRevisits(List<Map<String, Object>> nodes) {
        int extra = 0;
        for (Map<String, Object> n : nodes) {
            if ((boolean) n.get("terminal")) {
                extra += Math.max(0, (int) n.get("visits") - 1);
            }
        }
        return extra;
    }

    /** Leaves over a counting view of the model: "sample" and "greedy" (temperature 0). */
    static dev.metagen.meta.spec.LeafFactory leaves(CountingModel counted) {
        return new dev.metagen.meta.spec.LeafFactory() {
            @Override
            public java.util.Set<String> types() {
                return java.util.Set.of("sample", "greedy");
            }

            @Override
            public dev.metagen.core.Generator create(String type, dev.metagen.meta.spec.SpecNode node) {
                SamplingGenerator g = new SamplingGenerator(counted);
                return type.equals("greedy") ? (p, params) -> g.generate(p, params.withSampling(0, 0, 1.0, params.seed())) : g;
            }
        };
    }

    @Test
    void everyStrategyRunsOnTheRealModelAndItsCostIsTheModelsOwnCount() {
        String leaf = "{\"type\":\"sample\",\"temperature\":0.8}";
        String steps = "\"delimiter\":\".\",\"step_max_tokens\":8,\"max_steps\":2,";
        List<String> specs = List.of(
                "{\"type\":\"weighted_vote\",\"n\":3,\"exp_weights\":true,\"extractor\":{\"type\":\"regex\",\"pattern\":\"named (\\\\w+)\"},\"scorer\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"mbr\",\"n\":3,\"utility\":{\"type\":\"rouge_l\"},\"inner\":" + leaf + "}",
                "{\"type\":\"usc\",\"n\":3,\"inner\":" + leaf + ",\"selector\":{\"type\":\"greedy\"}}",
                "{\"type\":\"adaptive_consistency\",\"max_samples\":4,\"extractor\":{\"type\":\"regex\",\"pattern\":\"named (\\\\w+)\"},\"inner\":" + leaf + "}",
                "{\"type\":\"best_first\"," + steps + "\"expand\":2,\"max_expansions\":3,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"tot\",\"mode\":\"bfs\"," + steps + "\"k\":2,\"breadth\":1,\"vote\":{\"judge\":{\"type\":\"sample\"},\"votes\":2},\"inner\":" + leaf + "}",
                "{\"type\":\"tot\",\"mode\":\"dfs\"," + steps + "\"k\":2,\"value\":{\"type\":\"judge\",\"judge\":{\"type\":\"greedy\"}},\"inner\":" + leaf + "}",
                "{\"type\":\"mcts\"," + steps + "\"iterations\":3,\"width\":2,\"rollouts\":true,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"dvts\"," + steps + "\"n\":4,\"width\":2,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"self_refine\",\"max_rounds\":1,\"inner\":" + leaf + "}",
                "{\"type\":\"debate\",\"n\":2,\"rounds\":1,\"inner\":" + leaf + "}",
                "{\"type\":\"refine\",\"max_rounds\":1,\"verifier\":{\"type\":\"contains\",\"words\":[\"dragon\"]},\"inner\":" + leaf + "}",
                "{\"type\":\"cascade\",\"stages\":[{\"generator\":{\"type\":\"greedy\"},\"min_mean_logprob\":-0.01},{\"generator\":" + leaf + "}]}",
                "{\"type\":\"chain\",\"links\":[{\"kind\":\"generate\",\"as\":\"story\",\"generator\":{\"type\":\"greedy\"}},"
                        + "{\"kind\":\"tool\",\"as\":\"output\",\"tool\":{\"type\":\"calculator\"},\"template\":\"2 * 21\"}]}");
        for (String json : specs) {
            CountingModel counted = new CountingModel(model);
            var strategy = new dev.metagen.meta.spec.StrategySpecs(leaves(counted)).parse(json);
            Generation r = strategy.generator().generate(PROMPT, sampling(16, 21));
            assertEquals(counted.forwards.get(), r.cost().modelCalls(), json);
            assertEquals(counted.prefillTokens.get(), r.cost().promptTokens(), json);
            assertTrue(r.cost().modelCalls() > 0, json);
            assertEquals(strategy.type(), r.trace().get("strategy"));
        }
    }

    @Test
    void aTokenBudgetStopsASearchOnTheRealModelExactly() {
        CountingModel counted = new CountingModel(model);
        var dvts = new dev.metagen.meta.search.Dvts(new SamplingGenerator(counted), LogprobScorer.mean(),
                new StepConfig(".", 8, 4, null), 8, 2);
        Generation r = dvts.generate(PROMPT, sampling(64, 4), Budget.tokens(40), new Cancellation());
        assertEquals(dev.metagen.core.FinishReason.BUDGET, r.finish());
        assertEquals("tokens", r.trace().get("stopped"));
        // never more than the budget; less when a step ended early and gave back tokens a refused sibling wanted
        assertTrue(r.cost().generatedTokens() <= 40 && r.cost().generatedTokens() > 20, "spent " + r.cost().generatedTokens());
        assertEquals(counted.forwards.get(), r.cost().modelCalls());
        assertFalse(r.text().isEmpty(), "the best path explored so far is returned");
    }

    @Test
    void rejectionSamplingWithALexicalVerifierBeatsASingleSampleWithinItsTokenBudget() {
        ContainsWordsVerifier verifier = new ContainsWordsVerifier(List.of("Lily"));
        SamplingGenerator leaf = new SamplingGenerator(model);
        int trials = 16;
        int maxTokens = 32;
        int single = 0;
        int rejection = 0;
        long spent = 0;
        long budget = 4L * maxTokens;
        for (int t = 0; t < trials; t++) {
            GenerationParams p = sampling(maxTokens, 1000 + t);
            if (verifier.verify(PROMPT, leaf.generate(PROMPT, p)).accepted()) {
                single++;
            }
            RejectionSampling rs = new RejectionSampling(leaf, verifier, 100, 1);
            Generation r = rs.generate(PROMPT, p, Budget.tokens(budget), new Cancellation());
            assertTrue(r.cost().generatedTokens() <= budget, "spent " + r.cost().generatedTokens());
            spent += r.cost().generatedTokens();
            if (Boolean.TRUE.equals(r.trace().get("accepted"))) {
                rejection++;
                assertTrue(verifier.verify(PROMPT, r).accepted());
            }
        }
        System.out.printf("rejection sampling on stories260K: single-sample acceptance %d/%d, with a %d-token budget %d/%d (mean %.1f tokens)%n",
                single, trials, budget, rejection, trials, spent / (double) trials);
        assertTrue(rejection > single, "rejection " + rejection + " vs single " + single);
    }
}
