package dev.metagen.decoding;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Sequence scoring and per-token top logprobs on stories260K, against the generator's own log-probabilities. */
@Tag("model")
class SequenceScorerTest {
    static LanguageModel model;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void scoringASampledContinuationGivesTheLogprobsItWasGeneratedWith() {
        int[] prompt = model.tokenizer().encode("Once upon a time", true);
        Generation g = new SamplingGenerator(model)
                .generate(prompt, ((GenerationParams.greedy(20)).withSampling(new SamplingConfig().temperature(1.0).seed(4)).withSeed((new SamplingConfig().temperature(1.0).seed(4)).seed())).withLogprobs(3), x -> {});
        SequenceScorer.Scored s = new SequenceScorer(model).score(prompt, g.tokens(), 3);
        assertArrayEquals(g.logprobs(), s.logprobs(), 1e-5);
        assertEquals(g.sumLogprob(), s.logprob(), 1e-4);
        assertEquals(g.trace().get("top_logprobs"), s.top());
        assertEquals(g.sumLogprob(), new SequenceScorer(model).score(Prompt.of("Once upon a time"), g), 1e-4);
    }

    @Test
    void topAlternativesAreSortedAndTheGreedyTokenIsFirst() {
        int[] prompt = model.tokenizer().encode("Once upon a time", true);
        Generation g = new SamplingGenerator(model).generate(prompt, (GenerationParams.greedy(8)).withLogprobs(5), x -> {});
        @SuppressWarnings("unchecked")
        List<List<Map<String, Object>>> top = (List<List<Map<String, Object>>>) g.trace().get("top_logprobs");
        assertEquals(8, top.size());
        for (int i = 0; i < 8; i++) {
            List<Map<String, Object>> alts = top.get(i);
            assertEquals(5, alts.size());
            assertEquals(g.tokens()[i], alts.getFirst().get("token"));
            assertEquals(g.logprobs()[i], (double) alts.getFirst().get("logprob"), 1e-12);
            for (int j = 1; j < alts.size(); j++) {
                assertTrue((double) alts.get(j - 1).get("logprob") >= (double) alts.get(j).get("logprob"));
            }
        }
    }

    @Test
    void badInputIsRejected() {
        SequenceScorer s = new SequenceScorer(model);
        assertThrows(MetagenException.class, () -> s.score(new int[0], new int[] {5}, 0));
        MetagenException e = assertThrows(MetagenException.class, () -> s.score(new int[] {1}, new int[] {600}, 0));
        assertTrue(e.getMessage().contains("600"));
        assertThrows(MetagenException.class, () -> GenerationParams.greedy(1).withLogprobs(-1));
    }
}
