package dev.metagen.meta.spec;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpecCostTest {
    private static final SpecCost.Limits LIMITS = new SpecCost.Limits(1000, 200_000, 8, 16,
            "--max-strategy-calls", "--max-strategy-tokens", "--max-strategy-depth", "--max-template-growth");

    @Test
    void countsCallsTokensAndDepthThroughTheNesting() {
        SpecCost c = SpecCost.check("{\"type\":\"best_of_n\",\"n\":4,\"inner\":{\"type\":\"sample\",\"max_tokens\":50},"
                + "\"scorer\":{\"type\":\"judge\",\"judge\":{\"type\":\"greedy\"}}}", 100, LIMITS);
        assertEquals(8, c.calls()); // 4 samples + 4 judge calls
        assertEquals(4 * (50 + 8), c.generatedTokens()); // a judge answers in its max_tokens (8 by default)
        assertEquals(2, c.depth());
    }

    @Test
    void leavesInheritTheCallersMaxTokensAndStepSearchesGiveTheirStepLength() {
        assertEquals(5 * 64, SpecCost.estimate("{\"type\":\"majority_vote\",\"inner\":{\"type\":\"sample\"}}", 64).generatedTokens());
        SpecCost s = SpecCost.estimate("{\"type\":\"step_beam_search\",\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"logprob\"}}", 999);
        assertEquals(8 * 2 * 2, s.calls());
        assertEquals(8 * 2 * 2 * 32, s.generatedTokens());
    }

    @Test
    void aHugeNIsRefusedNamingTheField() {
        var e = assertThrows(StrategySpecException.class, () -> SpecCost.check(
                "{\"type\":\"best_of_n\",\"n\":2147483647,\"inner\":{\"type\":\"sample\"},\"scorer\":{\"type\":\"logprob\"}}", 16, LIMITS));
        assertTrue(e.getMessage().startsWith("$.n: worst case 2147483647 model calls, more than the limit of 1000 (--max-strategy-calls)"), e.getMessage());
    }

    @Test
    void tokensAreCappedSeparatelyFromCalls() {
        var e = assertThrows(StrategySpecException.class, () -> SpecCost.check(
                "{\"type\":\"majority_vote\",\"n\":100,\"inner\":{\"type\":\"sample\",\"max_tokens\":4096}}", 16, LIMITS));
        assertTrue(e.getMessage().startsWith("$.n: worst case 409600 generated tokens"), e.getMessage());
    }

    @Test
    void deepNestingIsRefusedAtTheFirstLevelTooDeep() {
        String spec = "{\"type\":\"sample\"}";
        for (int i = 0; i < 25; i++) {
            spec = "{\"type\":\"majority_vote\",\"n\":1,\"inner\":" + spec + "}";
        }
        String s = spec;
        var e = assertThrows(StrategySpecException.class, () -> SpecCost.check(s, 16, LIMITS));
        assertTrue(e.getMessage().startsWith("$" + ".inner".repeat(8) + ": strategies nested 9 deep, more than the limit of 8 (--max-strategy-depth)"),
                e.getMessage());
    }

    @Test
    void nestedVotesMultiplyAndSaturateInsteadOfOverflowing() {
        String spec = "{\"type\":\"sample\"}";
        for (int i = 0; i < 25; i++) {
            spec = "{\"type\":\"majority_vote\",\"inner\":" + spec + "}";
        }
        SpecCost c = SpecCost.estimate(spec, 16);
        assertEquals(Math.pow(5, 25), c.calls(), 1e6);
        assertEquals(26, c.depth());
    }

    @Test
    void aChainThatDoublesItsTextIsRefusedAtTheTemplatePastTheGrowthLimit() {
        StringBuilder links = new StringBuilder("{\"kind\":\"template\",\"as\":\"t0\",\"template\":\"{prompt}{prompt}\"}");
        for (int i = 1; i < 34; i++) {
            links.append(",{\"kind\":\"template\",\"as\":\"t").append(i).append("\",\"template\":\"{t").append(i - 1).append("}{t").append(i - 1).append("}\"}");
        }
        String spec = "{\"type\":\"chain\",\"links\":[" + links + ",{\"kind\":\"generate\",\"as\":\"out\",\"template\":\"{t33}\",\"generator\":{\"type\":\"sample\"}}]}";
        var e = assertThrows(StrategySpecException.class, () -> SpecCost.check(spec, 16, LIMITS));
        // sizes 2, 4, 8, 16, 32: the fifth template is the first past 16
        assertTrue(e.getMessage().startsWith("$.links[4].template: the template expands to 32 copies"), e.getMessage());
        assertTrue(e.getMessage().contains("(--max-template-growth)"), e.getMessage());
        assertEquals(Math.pow(2, 34), SpecCost.estimate(spec, 16).templateGrowth());
    }

    @Test
    void chainsAddTheirGenerationsAndToolCalls() {
        SpecCost c = SpecCost.estimate("{\"type\":\"chain\",\"links\":[{\"kind\":\"generate\",\"as\":\"a\",\"generator\":{\"type\":\"sample\",\"max_tokens\":10}},"
                + "{\"kind\":\"tool\",\"as\":\"b\",\"tool\":{\"type\":\"calculator\"},\"template\":\"{a}\"},"
                + "{\"kind\":\"generate\",\"as\":\"c\",\"template\":\"{prompt} {a} {b}\",\"generator\":{\"type\":\"greedy\"}}]}", 20);
        assertEquals(3, c.calls());
        assertEquals(30, c.generatedTokens());
        assertEquals(3, c.templateGrowth());
    }

    @Test
    void selfRefineCountsItsDraftFeedbackAndRevisions() {
        SpecCost c = SpecCost.estimate("{\"type\":\"self_refine\",\"max_rounds\":3,\"inner\":{\"type\":\"sample\"}}", 40);
        // draft, then 3 x (feedback of 32 tokens + revision)
        assertEquals(7, c.calls());
        assertEquals(40 + 3 * (40 + 32), c.generatedTokens());
    }
}
