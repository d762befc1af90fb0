package dev.metagen.meta.score;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.Budget;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.Run;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Stopped;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecException;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.testing.TallyRewardModel;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.metagen.meta.testing.TallyRewardModel.sigmoid;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * orm, prm and verifier scorers on a reward model whose scores are computed by hand (the tally of 'g' minus 'b'),
 * through specs, with exact costs, budgets and cancellation; step beam search follows the path the PRM prefers.
 */
class RewardScorersTest {
    private static final TallyRewardModel RM = new TallyRewardModel(true);
    private static final TallyRewardModel LM = new TallyRewardModel(false);

    /** Leaves: "steps" cycles through the steps "gg", "bb", "gb"; models: "rm" has a score head, "lm" does not. */
    static final class Leaves implements LeafFactory {
        final AtomicInteger next = new AtomicInteger();

        @Override
        public Set<String> types() {
            return Set.of("steps");
        }

        @Override
        public Generator create(String type, SpecNode node) {
            String[] steps = {"gg", "bb", "gb"};
            return (p, params) -> {
                String s = steps[next.getAndIncrement() % 3];
                return new Generation(s, new int[]{1, 2}, new double[]{-1, -1}, FinishReason.STOP,
                        new Cost(p.text().length(), 2, 1, 0, Duration.ZERO), Map.of());
            };
        }

        @Override
        public Optional<LanguageModel> scoringModel(SpecNode node) {
            String name = node.has("model") ? node.string("model") : "rm";
            return Optional.of(switch (name) {
                case "rm" -> RM;
                case "lm" -> LM;
                default -> throw new StrategySpecException(node.path("model"), "unknown model '" + name + "'");
            });
        }
    }

    /** A scorer spec read by the public parser, as the scorer of a strategy. */
    private static Scorer parse(String json) {
        Scorer[] out = new Scorer[1];
        StrategySpecs specs = new StrategySpecs(new Leaves());
        specs.registerStrategy("probe", n -> {
            out[0] = specs.scorer(n.requireChild("scorer"));
            return (p, params) -> null;
        });
        specs.parse("{\"type\":\"probe\",\"scorer\":" + json + "}");
        return out[0];
    }

    private static Generation candidate(String text) {
        return new Generation(text, new int[0], new double[0], FinishReason.STOP, Cost.ZERO, Map.of());
    }

    private static Scope scope() {
        return new Scope(new Run(Budget.UNLIMITED, new Cancellation()));
    }

    @Test
    void ormIsTheHeadAtTheLastTokenWithExactCost() {
        Scorer orm = parse("{\"type\":\"orm\",\"model\":\"rm\"}");
        Scope scope = scope();
        // "Q: " has no g or b; "ggbg" tallies 3 - 1
        assertEquals(2.0, scope.score(orm, Prompt.of("Q: "), candidate("ggbg")), 0);
        Cost c = scope.spent();
        assertEquals(1, c.modelCalls());
        assertEquals(1 + "Q: ggbg".length(), c.promptTokens(), "BOS and one token per byte");
        assertEquals(0, c.generatedTokens());
        Scorer templated = parse("{\"type\":\"orm\",\"template\":\"{candidate} after {prompt}\"}");
        assertEquals(-2.0, scope().score(templated, Prompt.of("bbb"), candidate("g")), 0);
    }

    @Test
    void prmHeadScoresEachStepAndAggregates() {
        // steps "gg", "b", "gg": the tallies at the steps' ends are 2, 1, 3
        String steps = "gg\nb\ngg";
        double[] expected = {2, 1, 3};
        var prm = (ProcessRewardScorer) parse("{\"type\":\"prm\",\"model\":\"rm\"}");
        Scope scope = scope();
        long before = RM.passes.get();
        assertArrayEquals(expected, prm.stepScores(Prompt.of("P"), candidate(steps), scope), 0);
        assertEquals(1, RM.passes.get() - before, "one pass reads every step's position");
        assertEquals(1, scope.spent().modelCalls());
        assertEquals(1 + "Pgg\nb\ngg".length(), scope.spent().promptTokens());
        Map<String, Double> byAggregate = Map.of("min", 1.0, "last", 3.0, "prod", 6.0, "mean", 2.0);
        byAggregate.forEach((agg, want) -> assertEquals(want,
                scope().score(parse("{\"type\":\"prm\",\"aggregate\":\"" + agg + "\"}"), Prompt.of("P"), candidate(steps)), 1e-12, agg));
        // a tag after each step is part of the scored text: "b" as a tag lowers every step by the tags so far
        var tagged = (ProcessRewardScorer) parse("{\"type\":\"prm\",\"step_tag\":\"b\"}");
        assertArrayEquals(new double[]{1, -1, 0}, tagged.stepScores(Prompt.of("P"), candidate(steps), scope()), 0);
    }

    @Test
    void prmMathShepherdReadsGoodAgainstBadAfterEachTag() {
        var prm = (ProcessRewardScorer) parse("{\"type\":\"prm\",\"model\":\"lm\",\"step_tag\":\" ki\",\"good_token\":\"+\",\"bad_token\":\"-\",\"aggregate\":\"min\"}");
        Scope scope = scope();
        double[] s = prm.stepScores(Prompt.of("P"), candidate("gg\nb\ngg"), scope);
        assertArrayEquals(new double[]{sigmoid(2), sigmoid(1), sigmoid(3)}, s, 1e-6);
        assertEquals(sigmoid(1), scope().score(prm, Prompt.of("P"), candidate("gg\nb\ngg")), 1e-6);
        String whole = "Pgg ki\nb ki\ngg ki";
        assertEquals(3, scope.spent().modelCalls(), "one forward per step, on one sequence");
        assertEquals(1 + whole.length(), scope.spent().promptTokens());
    }

    @Test
    void maxStepsKeepsTheRestInTheLastStepAndBoundsTheCalls() {
        var prm = (ProcessRewardScorer) parse("{\"type\":\"prm\",\"model\":\"lm\",\"good_token\":\"+\",\"bad_token\":\"-\",\"max_steps\":2}");
        Scope scope = scope();
        assertArrayEquals(new double[]{sigmoid(2), sigmoid(3)}, prm.stepScores(Prompt.of("P"), candidate("gg\nb\ngg"), scope), 1e-6);
        assertEquals(2, scope.spent().modelCalls());
        // the static bound a server checks before running a spec: n candidates, each scored in at most max_steps calls
        var cost = dev.metagen.meta.spec.SpecCost.estimate("{\"type\":\"best_of_n\",\"n\":3,\"inner\":{\"type\":\"sample\"},"
                + "\"scorer\":{\"type\":\"prm\",\"good_token\":\"+\",\"bad_token\":\"-\",\"max_steps\":5}}", 16);
        assertEquals(3 * (1 + 5), cost.calls());
        var head = dev.metagen.meta.spec.SpecCost.estimate("{\"type\":\"best_of_n\",\"n\":3,\"inner\":{\"type\":\"sample\"},"
                + "\"scorer\":{\"type\":\"orm\"}}", 16);
        assertEquals(3 * 2, head.calls());
    }

    @Test
    void verifierIsPYesNormalisedOverYesAndNo() {
        Scorer v = parse("{\"type\":\"verifier\",\"model\":\"lm\",\"template\":\"{prompt}{candidate}? \",\"yes\":\"Y\",\"no\":\"N\"}");
        Scope scope = scope();
        assertEquals(sigmoid(-1), scope.score(v, Prompt.of("x"), candidate("gbb")), 1e-6);
        assertEquals(1, scope.spent().modelCalls());
        assertEquals(1 + "xgbb? ".length(), scope.spent().promptTokens());
        Scorer raw = parse("{\"type\":\"verifier\",\"model\":\"lm\",\"template\":\"{prompt}{candidate}? \",\"yes\":\"Y\",\"no\":\"N\",\"normalize\":false}");
        double e = Math.exp(-1);
        assertEquals(e / (2 * e + 2 + 253 * Math.exp(-100)), scope().score(raw, Prompt.of("x"), candidate("gbb")), 1e-6,
                "p(Y) over the whole vocabulary: logits -1 for Y and +, 0 for N and -, -100 for the other 253 tokens");
    }

    @Test
    void budgetsAndCancellationStopScoringBeforeTheModelRuns() {
        Scorer prm = parse("{\"type\":\"prm\",\"model\":\"lm\",\"good_token\":\"+\",\"bad_token\":\"-\"}");
        long before = LM.passes.get();
        Scope tight = new Scope(new Run(new Budget(Long.MAX_VALUE, 2, null), new Cancellation()));
        assertThrows(Stopped.class, () -> tight.score(prm, Prompt.of("P"), candidate("g\ng\ng")), "3 steps need 3 calls; 2 are left");
        assertEquals(before, LM.passes.get(), "the model was not run");
        Cancellation c = new Cancellation();
        c.cancel();
        Scope cancelled = new Scope(new Run(Budget.UNLIMITED, c));
        assertThrows(Stopped.class, () -> cancelled.score(parse("{\"type\":\"orm\"}"), Prompt.of("P"), candidate("g")));
        assertEquals(before, LM.passes.get());
    }

    @Test
    void stepBeamSearchFollowsThePathThePrmPrefers() {
        // each expansion proposes "gg", "bb" and "gb"; a PRM rewarding g keeps "gg", one rewarding b keeps "bb"
        for (String[] c : new String[][]{{"+", "-", "gg\ngg\ngg"}, {"-", "+", "bb\nbb\nbb"}}) {
            String spec = "{\"type\":\"step_beam_search\",\"beam_width\":1,\"expand\":3,\"max_steps\":3,\"inner\":{\"type\":\"steps\"},"
                    + "\"scorer\":{\"type\":\"prm\",\"model\":\"lm\",\"good_token\":\"" + c[0] + "\",\"bad_token\":\"" + c[1] + "\"}}";
            var strategy = new StrategySpecs(new Leaves()).parse(spec);
            Generation g = strategy.generator().generate(Prompt.of("Q\n"), GenerationParams.greedy(64));
            assertEquals(c[2], g.text().strip());
            // 3 rounds of 3 steps: 9 step calls; each scored path of depth d costs d prm calls (1+1+1, 2+2+2, 3+3+3)
            assertEquals(9 + 3 * (1 + 2 + 3), g.cost().modelCalls());
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> nodes = (List<Map<String, Object>>) ((Map<String, Object>) g.trace().get("tree")).get("nodes");
            for (Map<String, Object> n : nodes) {
                if ((int) n.get("depth") == 1) {
                    double t = TallyRewardModel.tally((String) n.get("step"));
                    double want = sigmoid(c[0].equals("+") ? t : -t);
                    assertEquals(want, (Double) n.get("score"), 1e-6, "the trace shows the step's PRM score: " + n);
                }
            }
        }
    }

    @Test
    void everyStepSearchScoresPartialPathsAndChargesEachScoringCall() {
        // with aggregate "last", a head PRM scores a path by the tally of the whole path: one call per scored node
        for (String search : List.of("{\"type\":\"best_first\",\"expand\":3,\"max_expansions\":4",
                "{\"type\":\"dvts\",\"n\":3,\"width\":3", "{\"type\":\"mcts\",\"iterations\":4,\"width\":3",
                "{\"type\":\"step_beam_search\",\"beam_width\":2,\"expand\":3")) {
            Leaves leaves = new Leaves();
            long before = RM.passes.get();
            Generation g = new StrategySpecs(leaves).parse(search + ",\"max_steps\":3,\"inner\":{\"type\":\"steps\"},"
                    + "\"scorer\":{\"type\":\"prm\",\"model\":\"rm\"}}").generator().generate(Prompt.of("Q\n"), GenerationParams.greedy(64));
            long stepCalls = leaves.next.get();
            long scoringCalls = RM.passes.get() - before;
            assertEquals(stepCalls + scoringCalls, g.cost().modelCalls(), search);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> nodes = (List<Map<String, Object>>) ((Map<String, Object>) g.trace().get("tree")).get("nodes");
            long scored = 0;
            for (Map<String, Object> n : nodes) {
                if (n.get("score") != null) {
                    scored++;
                }
            }
            assertEquals(scored, scoringCalls, search + ": one head pass per scored partial path");
            assertTrue(scored > 0, search);
            assertTrue(!g.text().contains("bb"), search + " chose a path the PRM ranks low: " + g.text());
        }
    }

    @Test
    void badSpecsNameTheirPath() {
        assertEquals("$.scorer.aggregate: unknown aggregate 'median' (known: last, mean, min, prod)",
                err("{\"type\":\"prm\",\"aggregate\":\"median\"}"));
        assertEquals("$.scorer.bad_token: required with good_token (a Math-Shepherd reading needs both)",
                err("{\"type\":\"prm\",\"model\":\"lm\",\"good_token\":\"+\"}"));
        assertTrue(err("{\"type\":\"prm\",\"model\":\"lm\",\"good_token\":\"+\",\"bad_token\":\"-\",\"label\":0}")
                .startsWith("$.scorer.label: applies to a score head"));
        assertEquals("$.scorer.template: must contain {candidate}", err("{\"type\":\"orm\",\"template\":\"{prompt}\"}"));
        assertEquals("$.scorer.template: must not contain {candidate} (the steps follow the template)",
                err("{\"type\":\"prm\",\"template\":\"{prompt}{candidate}\"}"));
        assertEquals("$.scorer.model: model tally has no score head (a reward model carries cls.output tensors)",
                err("{\"type\":\"orm\",\"model\":\"lm\"}"));
        assertEquals("$.scorer.model: unknown model 'x'", err("{\"type\":\"verifier\",\"model\":\"x\"}"));
        assertEquals("$.scorer.yes: must not be empty", err("{\"type\":\"verifier\",\"yes\":\"\"}"));
        assertTrue(err("{\"type\":\"orm\",\"lable\":1}").startsWith("$.scorer.lable: unknown field"));
        assertEquals("$.scorer.endpoint: unknown endpoint 'embed' (known: classify, pooling, rerank, score)",
                err("{\"type\":\"remote_reward\",\"model\":\"r\",\"endpoint\":\"embed\"}"));
        assertTrue(err("{\"type\":\"remote_reward\",\"endpoint\":\"score\",\"label\":1,\"model\":\"r\"}").startsWith("$.scorer.label: applies to the classify and pooling"));
        assertEquals("$.scorer.model: no remote endpoints are named here", err("{\"type\":\"remote_reward\",\"model\":\"r\"}"));
        assertEquals("$.scorer.model: required: the name of a remote endpoint (--model NAME=URL)", err("{\"type\":\"remote_reward\"}"));
        // a label the head does not have is found when scoring, naming the outputs
        Scorer bad = parse("{\"type\":\"orm\",\"label\":\"safety\"}");
        assertEquals("label 'safety' is not an output of the score head (outputs: reward)",
                assertThrows(MetagenException.class, () -> scope().score(bad, Prompt.of("a"), candidate("b"))).getMessage());
    }

    private static String err(String scorer) {
        return assertThrows(StrategySpecException.class, () -> new StrategySpecs(new Leaves())
                .parse("{\"type\":\"best_of_n\",\"inner\":{\"type\":\"steps\"},\"scorer\":" + scorer + "}")).getMessage();
    }
}
