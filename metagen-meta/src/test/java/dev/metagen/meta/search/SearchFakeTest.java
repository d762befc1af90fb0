package dev.metagen.meta.search;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Step search on a scripted problem whose best path is known: each step appends a digit 0-9 drawn from the seed,
 * a path is complete after three steps, and the process reward is the sum of its digits, so searches that keep the
 * best partial paths find higher sums than a single random path would.
 */
class SearchFakeTest {
    static final GenerationParams P = new GenerationParams(64, 1.0, 0, 1.0, 7, true, List.of());

    /** One digit per step, from the seed; the delimiter is given as the stop string and is not in the text. */
    static final Generator DIGITS = (prompt, params) -> {
        assertEquals(List.of(";"), params.stop());
        int d = (int) Math.floorMod(params.seed(), 10L);
        return new Generation(Integer.toString(d), new int[]{d}, new double[]{-1}, FinishReason.STOP,
                new Cost(1, 1, 1, 0, Duration.ZERO), Map.of());
    };

    static final Scorer DIGIT_SUM = (p, g) -> g.text().chars().filter(Character::isDigit).map(c -> c - '0').sum();

    static final StepConfig STEPS = new StepConfig(";", 4, 3, null);

    @Test
    void stepBeamSearchKeepsTheBestPartialPaths() {
        Generation r = new StepBeamSearch(DIGITS, DIGIT_SUM, STEPS, 3, 4).generate(Prompt.of(""), P);
        // three steps of 3 beams x 4 expansions (the first from the root alone)
        assertEquals(4 + 12 + 12, r.cost().modelCalls());
        String[] digits = r.text().split(";");
        assertEquals(3, digits.length, r.text());
        int sum = 0;
        for (String d : digits) {
            sum += Integer.parseInt(d);
        }
        assertEquals(sum, (double) r.trace().get("chosen_score"), 0.0);
        assertTrue(sum >= 18, "beam search found only " + r.text());
        assertTrue(TreeDot.toDot(r.trace()).startsWith("digraph search {"));
        assertTrue(TreeDot.toDot(r.trace()).contains("style=bold"));
    }

    @Test
    void bestFirstAndDvtsAndTotReturnCompletePaths() {
        for (var g : List.of(new BestFirstSearch(DIGITS, DIGIT_SUM, STEPS, 3, 10),
                new Dvts(DIGITS, DIGIT_SUM, STEPS, 6, 3),
                new TreeOfThoughts(DIGITS, DIGIT_SUM, null, STEPS, TreeOfThoughts.Mode.BFS, 3, 2, 0, 50),
                new TreeOfThoughts(DIGITS, DIGIT_SUM, null, STEPS, TreeOfThoughts.Mode.DFS, 3, 2, 5, 50),
                new MonteCarloTreeSearch(DIGITS, DIGIT_SUM, STEPS, 10, 3, 1.0, false))) {
            Generation r = g.generate(Prompt.of(""), P);
            assertEquals(3, r.text().split(";").length, g.name() + ": " + r.text());
            assertEquals(FinishReason.LENGTH, r.finish(), g.name() + " stops at max_steps");
        }
    }

    @Test
    void theCallersStopStringEndsAPath() {
        Generation r = new StepBeamSearch(DIGITS, DIGIT_SUM, STEPS, 3, 4).generate(Prompt.of(""), P.withStop(List.of("9")));
        assertTrue(!r.text().contains("9"), r.text());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> nodes = (List<Map<String, Object>>) ((Map<String, Object>) r.trace().get("tree")).get("nodes");
        int nines = 0;
        for (Map<String, Object> n : nodes) {
            if ("9".equals(n.get("step"))) {
                nines++;
                assertEquals(true, n.get("terminal"), "a step that hit the stop string ends its path");
            }
        }
        assertTrue(nines > 0, "the search met the stop string");
    }

    @Test
    void theSameSeedGivesTheSameSearch() {
        var a = new Dvts(DIGITS, DIGIT_SUM, STEPS, 6, 3).generate(Prompt.of(""), P);
        var b = new Dvts(DIGITS, DIGIT_SUM, STEPS, 6, 3).generate(Prompt.of(""), P);
        assertEquals(a.text(), b.text());
        assertEquals(a.cost().modelCalls(), b.cost().modelCalls());
    }
}
