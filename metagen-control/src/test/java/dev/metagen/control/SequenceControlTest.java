package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.metagen.control.sequence.FudgeGenerator;
import dev.metagen.control.sequence.RejectionSampler;
import dev.metagen.control.sequence.SmcGenerator;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.SamplingGenerator;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Rejection sampling, SMC with a potential and FUDGE-style guidance on stories260K, with their token costs. */
@Tag("model")
class SequenceControlTest {
    static final Prompt PROMPT = Prompt.of("Once upon a time");

    static long count(String text, char c) {
        return text.chars().filter(x -> x == c).count();
    }

    @Test
    void rejectionSamplingReturnsAnAcceptedOutputAndSumsCosts() {
        LanguageModel m = Models.stories();
        GenerationParams p = new GenerationParams(24, 1.0, 0, 1.0, 5, true, List.of());
        RejectionSampler r = new RejectionSampler(new SamplingGenerator(m), g -> g.text().contains("dog"), 60);
        Generation g = r.generate(PROMPT, p);
        assertTrue((boolean) g.trace().get("accepted"), "no accepted draw in 60 attempts");
        assertTrue(g.text().contains("dog"), g.text());
        int attempts = (int) g.trace().get("attempts");
        assertTrue(g.cost().generatedTokens() >= g.tokens().length);
        assertTrue(g.cost().modelCalls() >= attempts, "each attempt is paid for"); 
        // an impossible predicate exhausts the budget
        Generation none = new RejectionSampler(new SamplingGenerator(m), x -> false, 3).generate(PROMPT, p);
        assertEquals(FinishReason.BUDGET, none.finish());
        assertEquals(3, none.trace().get("attempts"));
    }

    @Test
    void smcWithAPotentialBeatsPlainSampling() {
        LanguageModel m = Models.stories();
        // potential: reward outputs with many letters 'o' (log potential = 2 per 'o')
        double plain = 0;
        double smc = 0;
        int runs = 4;
        for (int s = 0; s < runs; s++) {
            GenerationParams p = new GenerationParams(24, 1.0, 0, 1.0, 100 + s, true, List.of());
            plain += count(new SamplingGenerator(m).generate(PROMPT, p).text(), 'o');
            Generation g = new SmcGenerator(m, (text, done) -> 2.0 * count(text, 'o'), 8, 2, null).generate(PROMPT, p);
            smc += count(g.text(), 'o');
            assertTrue(g.cost().generatedTokens() >= g.tokens().length * 4L, "cost counts every particle's tokens");
        }
        assertTrue(smc > plain * 1.3, "SMC 'o' count " + smc + " vs plain " + plain);
    }

    @Test
    void smcRespectsATokenConstraint() {
        LanguageModel m = Models.stories();
        GrammarConstraint c = Constraints.regex("[a-z ]{5,40}\\.", m.tokenizer());
        GenerationParams p = new GenerationParams(40, 1.0, 0, 1.0, 9, true, List.of());
        Generation g = new SmcGenerator(m, (text, done) -> text.contains("cat") ? 2 : 0, 4, 4, c).generate(PROMPT, p);
        // a finished output matches the whole pattern; one cut by the token budget is a prefix of a match
        if (g.finish() == FinishReason.STOP) {
            assertTrue(g.text().matches("[a-z ]{5,40}\\."), g.text());
        } else {
            assertEquals(FinishReason.LENGTH, g.finish(), g.text());
            assertTrue(g.text().matches("[a-z ]{0,40}"), g.text());
        }
    }

    @Test
    void fudgeSteersTowardsTheAttribute() {
        LanguageModel m = Models.stories();
        double plain = 0;
        double guided = 0;
        for (int s = 0; s < 3; s++) {
            GenerationParams p = new GenerationParams(24, 1.0, 0, 1.0, 200 + s, true, List.of());
            plain += count(new SamplingGenerator(m).generate(PROMPT, p).text(), 'e');
            Generation g = new FudgeGenerator(m, text -> 3.0 * count(text, 'e'), 20, 1.0).generate(PROMPT, p);
            guided += count(g.text(), 'e');
            assertTrue((long) g.trace().get("scorer_calls") >= g.tokens().length);
            assertEquals(g.cost().toolCalls(), (long) g.trace().get("scorer_calls"));
        }
        assertTrue(guided > plain * 1.3, "FUDGE 'e' count " + guided + " vs plain " + plain);
    }
}
