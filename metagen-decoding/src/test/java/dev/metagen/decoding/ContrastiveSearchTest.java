package dev.metagen.decoding;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Contrastive search on stories260K, each choice re-derived from the definition with fresh model states. */
@Tag("model")
class ContrastiveSearchTest {
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
    void alphaZeroIsGreedy() {
        int[] prompt = model.tokenizer().encode("Once upon a time", true);
        Generation c = new ContrastiveSearch(model, 4, 0).generate(prompt, GenerationParams.greedy(16));
        Generation g = new SamplingGenerator(model).generate(prompt, GenerationParams.greedy(16), x -> {});
        assertArrayEquals(g.tokens(), c.tokens());
        assertArrayEquals(g.logprobs(), c.logprobs(), 1e-5);
    }

    @Test
    void everyStepMaximisesTheContrastiveObjective() {
        double alpha = 0.6;
        int k = 5;
        int[] prompt = model.tokenizer().encode("Lily and Tom", true);
        Generation gen = new ContrastiveSearch(model, k, alpha).generate(prompt, GenerationParams.greedy(12));
        assertEquals(12, gen.tokens().length);
        Generation greedy = new SamplingGenerator(model).generate(prompt, GenerationParams.greedy(12), x -> {});
        assertFalse(Arrays.equals(greedy.tokens(), gen.tokens()), "alpha 0.6 should move away from greedy here");
        int[] seq = prompt;
        for (int step = 0; step < gen.tokens().length; step++) {
            // context hidden states of every position, one fresh single-token forward at a time
            List<float[]> context = new ArrayList<>();
            double[] lp;
            try (ModelState s = model.newState()) {
                dev.metagen.core.Logits l = null;
                for (int id : seq) {
                    l = model.forward(s, id);
                    context.add(model.lastHiddenState(s));
                }
                lp = l.logProbabilities();
                int[] top = TopLogprobs.topIndices(lp, k);
                double best = Double.NEGATIVE_INFINITY;
                int bestToken = -1;
                for (int v : top) {
                    try (ModelState f = s.fork()) {
                        model.forward(f, v);
                        double score = ContrastiveSearch.score(alpha, Math.exp(lp[v]), model.lastHiddenState(f), context);
                        if (score > best) {
                            best = score;
                            bestToken = v;
                        }
                    }
                }
                assertEquals(bestToken, gen.tokens()[step], "step " + step);
                assertEquals(lp[bestToken], gen.logprobs()[step], 1e-5);
            }
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = gen.tokens()[step];
        }
    }

    @Test
    void scoreFollowsTheFormula() {
        List<float[]> ctx = List.of(new float[] {1, 0}, new float[] {0, 1});
        // cos with (1,1)/sqrt2 is 0.7071 for both: (1 - 0.5) * 0.4 - 0.5 * 0.7071
        assertEquals(0.2 - 0.5 * Math.sqrt(0.5), ContrastiveSearch.score(0.5, 0.4, new float[] {1, 1}, ctx), 1e-6);
        assertThrows(MetagenException.class, () -> new ContrastiveSearch(model, 0, 0.5));
        assertThrows(MetagenException.class, () -> new ContrastiveSearch(model, 4, 1.5));
    }
}
