package dev.metagen.decoding.beam;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Beam search with the logit processors Hugging Face's beam search applies before ranking (its
 * {@code LogitsProcessorList}): repetition penalty, no-repeat n-grams, logit bias and minimum length, each on a beam's
 * own history. Checked against their definitions on stories260K, whose greedy and beam texts repeat themselves.
 */
@Tag("model")
class BeamLogitProcessorsTest {
    static LanguageModel model;
    static int[] prompt;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
        prompt = model.tokenizer().encode("Once upon a time", true);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] best(int beams, SamplingConfig sampling, int n) {
        return new BeamSearch(model, BeamSearch.Settings.of(beams), sampling).search(prompt, n).getFirst().tokens();
    }

    @Test
    void oneBeamWithAPenaltyIsGreedyDecodingWithThatPenalty() {
        SamplingConfig penalty = new SamplingConfig().temperature(0).penalties(1.5, 0, 0, 64);
        int[] beam = best(1, penalty, 40);
        int[] greedy = new SamplingGenerator(model).generate(prompt, GenerationParams.of(40, penalty), t -> { }).tokens();
        assertArrayEquals(greedy, beam, "a width-1 beam ranks by the penalised distribution, as greedy decoding picks");
        assertFalse(java.util.Arrays.equals(best(1, new SamplingConfig(), 40), beam), "the penalty changes the text");
        assertNotEquals(List.of(best(4, new SamplingConfig(), 40)), List.of(best(4, penalty, 40)));
    }

    @Test
    void noRepeatNgramsLeaveNoRepeatedNgramInPromptAndHypothesis() {
        int[] plain = best(4, new SamplingConfig(), 48);
        assertTrue(hasRepeatedNgram(concat(prompt, plain), 3), "stories260K's beam text repeats a trigram");
        int[] banned = best(4, new SamplingConfig().noRepeatNgram(3), 48);
        assertFalse(hasRepeatedNgram(concat(prompt, banned), 3), "no trigram occurs twice (Hugging Face's definition)");
    }

    @Test
    void aBannedTokenNeverAppearsAndMinTokensHoldsBackTheEnd() {
        int[] plain = best(4, new SamplingConfig(), 24);
        int banned = plain[2];
        int[] without = best(4, new SamplingConfig().logitBias(Map.of(banned, Float.NEGATIVE_INFINITY)), 24);
        for (int t : without) {
            assertNotEquals(banned, t);
        }
        // a stop token (here the best hypothesis' sixth token) ends hypotheses early; with min_tokens none ends before it
        SamplingConfig stop = new SamplingConfig().stopTokens(Set.of(plain[5]));
        int shortest = shortestFinished(stop, 40);
        assertTrue(shortest <= 5, "a hypothesis ends at the stop token: " + shortest);
        int atLeast = shortestFinished(stop.minTokens(15), 40);
        assertTrue(atLeast >= 15, "min_tokens 15, shortest finished " + atLeast);
    }

    /** The fewest tokens of a hypothesis that ended at an end token (MAX_VALUE when none did). */
    static int shortestFinished(SamplingConfig sampling, int n) {
        int min = Integer.MAX_VALUE;
        for (Hypothesis h : new BeamSearch(model, new BeamSearch.Settings(4, 1.0, false, 4, 1, 0), sampling).search(prompt, n)) {
            if (h.finish() == dev.metagen.core.FinishReason.STOP) {
                min = Math.min(min, h.tokens().length);
            }
        }
        return min;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static boolean hasRepeatedNgram(int[] ids, int n) {
        Set<List<Integer>> seen = new HashSet<>();
        for (int i = 0; i + n <= ids.length; i++) {
            List<Integer> g = new java.util.ArrayList<>();
            for (int j = 0; j < n; j++) {
                g.add(ids[i + j]);
            }
            if (!seen.add(g)) {
                return true;
            }
        }
        return false;
    }
}
