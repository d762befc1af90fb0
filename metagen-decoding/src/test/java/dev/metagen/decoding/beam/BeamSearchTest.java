package dev.metagen.decoding.beam;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Beam search, diverse beam search and stochastic beam search on the real stories260K model. */
@Tag("model")
class BeamSearchTest {
    static final List<String> PROMPTS = List.of("Once upon a time", "Lily wanted to", "The dog");
    static LanguageModel model;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] ids(String prompt) {
        return model.tokenizer().encode(prompt, true);
    }

    /** The exact best sequence of at most {@code length} tokens (or ending in EOS), by branch and bound. */
    static final class Exhaustive {
        double best;
        int[] bestTokens;
        long expanded;
        final int length;
        final Set<Integer> ends = model.tokenizer().special().endOfGeneration();

        Exhaustive(int length, double bound) {
            this.length = length;
            this.best = bound;
        }

        void search(ModelState state, double[] lp, int[] tokens, double score) {
            expanded++;
            Integer[] order = new Integer[lp.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Double.compare(lp[b], lp[a]));
            for (int v : order) {
                double s = score + lp[v];
                if (s <= best) {
                    break; // log-probabilities only go down: nothing later in this order can win
                }
                int[] t = Arrays.copyOf(tokens, tokens.length + 1);
                t[tokens.length] = v;
                if (ends.contains(v) || t.length == length) {
                    best = s;
                    bestTokens = ends.contains(v) ? tokens : t;
                    continue;
                }
                try (ModelState child = state.fork()) {
                    double[] next = model.forward(child, v).logProbabilities();
                    search(child, next, t, s);
                }
            }
        }
    }

    static double greedyScore(int[] prompt, int n) {
        return new SamplingGenerator(model).generate(prompt, GenerationParams.greedy(n), x -> {}).sumLogprob();
    }

    @Test
    void wideBeamFindsTheExhaustiveOptimumOverShortLengths() {
        int length = 6;
        boolean beatsGreedy = false;
        for (String p : PROMPTS) {
            int[] prompt = ids(p);
            Exhaustive ex = new Exhaustive(length, greedyScore(prompt, length) - 1e-9);
            try (ModelState s = model.newState()) {
                ex.search(s, model.forward(s, prompt).logProbabilities(), new int[0], 0);
            }
            assertNotNull(ex.bestTokens, p);
            Hypothesis beam = new BeamSearch(model, new BeamSearch.Settings(16, 0, false, 1, 1, 0)).search(prompt, length).getFirst();
            assertArrayEquals(ex.bestTokens, beam.tokens(), "prompt '" + p + "' (exhaustive expanded " + ex.expanded + " nodes)");
            // batched and single-sequence forwards may round differently in the last float digits
            assertEquals(ex.best, beam.logprob(), 1e-5);
            beatsGreedy |= ex.best > greedyScore(prompt, length) + 1e-6;
        }
        assertTrue(beatsGreedy, "no prompt where the optimum differs from greedy: the test would not tell beam from greedy");
    }

    @Test
    void beamWidthOneIsGreedyAndWiderBeamsNeverScoreBelowGreedy() {
        int n = 12;
        for (String p : PROMPTS) {
            int[] prompt = ids(p);
            var g = new SamplingGenerator(model).generate(prompt, GenerationParams.greedy(n), x -> {});
            Hypothesis one = new BeamSearch(model, new BeamSearch.Settings(1, 0, false, 1, 1, 0)).search(prompt, n).getFirst();
            assertArrayEquals(g.tokens(), one.tokens(), p);
            for (int width : new int[] {2, 4, 8}) {
                Hypothesis h = new BeamSearch(model, new BeamSearch.Settings(width, 0, false, 1, 1, 0)).search(prompt, n).getFirst();
                // 1e-5: batched and single-sequence forwards may round differently
                assertTrue(h.logprob() >= g.sumLogprob() - 1e-5, "beam " + width + " on '" + p + "': " + h.logprob() + " < greedy " + g.sumLogprob());
                assertEquals(Arrays.stream(h.logprobs()).sum(), h.logprob(), 1e-9); // no end token within 12 tokens here
            }
        }
    }

    @Test
    void returnsSeveralDistinctSequencesBestFirstWithLengthPenalty() {
        List<Hypothesis> hs = new BeamSearch(model, new BeamSearch.Settings(6, 1.0, true, 4, 1, 0)).search(ids("Once upon a time"), 10);
        assertEquals(4, hs.size());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < hs.size(); i++) {
            Hypothesis h = hs.get(i);
            assertTrue(seen.add(Arrays.toString(h.tokens())), "duplicate hypothesis");
            assertEquals(h.logprob() / h.tokens().length, h.score(), 1e-9); // length penalty 1: mean log-probability
            if (i > 0) {
                assertTrue(hs.get(i - 1).score() >= h.score());
            }
        }
    }

    @Test
    void diverseGroupsStartDifferently() {
        int[] prompt = ids("Once upon a time");
        List<Hypothesis> plain = new BeamSearch(model, new BeamSearch.Settings(4, 0, false, 4, 1, 0)).search(prompt, 6);
        List<Hypothesis> diverse = new BeamSearch(model, new BeamSearch.Settings(4, 0, false, 4, 4, 100.0)).search(prompt, 6);
        Set<Integer> plainFirst = new HashSet<>();
        Set<Integer> diverseFirst = new HashSet<>();
        plain.forEach(h -> plainFirst.add(h.tokens()[0]));
        diverse.forEach(h -> diverseFirst.add(h.tokens()[0]));
        // a huge Hamming penalty forces the four single-beam groups onto four different first tokens
        assertEquals(4, diverseFirst.size(), "diverse first tokens " + diverseFirst);
        assertTrue(plainFirst.size() < 4, "plain beam search already diverse: " + plainFirst);
        // group 1 is plain beam search of width 1: greedy
        assertTrue(diverse.stream().anyMatch(h -> Arrays.equals(h.tokens(),
                new SamplingGenerator(model).generate(prompt, GenerationParams.greedy(6), x -> {}).tokens())));
        // with no penalty the groups are identical searches
        List<Hypothesis> same = new BeamSearch(model, new BeamSearch.Settings(4, 0, false, 4, 4, 0)).search(prompt, 6);
        assertTrue(same.stream().allMatch(h -> Arrays.equals(h.tokens(), same.getFirst().tokens())));
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(MetagenException.class, () -> new BeamSearch.Settings(0, 1, false, 1, 1, 0));
        MetagenException e = assertThrows(MetagenException.class, () -> new BeamSearch.Settings(BeamSearch.MAX_BEAMS + 1, 1, false, 1, 1, 0));
        assertTrue(e.getMessage().contains("beams"), e.getMessage());
        assertThrows(MetagenException.class, () -> new BeamSearch.Settings(4, 1, false, 5, 1, 0));
        assertThrows(MetagenException.class, () -> new BeamSearch.Settings(4, 1, false, 1, 3, 0));
        assertThrows(MetagenException.class, () -> new BeamSearch.Settings(4, 1, false, 1, 2, -1));
        assertThrows(MetagenException.class, () -> new StochasticBeamSearch(model, 0, 1, 1));
        assertThrows(MetagenException.class, () -> new StochasticBeamSearch(model, 2, 0, 1));
    }

    @Test
    void stochasticBeamWithOneBeamSamplesTheModelDistribution() {
        // k = 1 over one token is one Gumbel-max draw: frequencies must follow p (chi-squared, significance 0.001)
        int[] prompt = ids("Once upon a time");
        double[] p;
        try (ModelState s = model.newState()) {
            p = model.forward(s, prompt).probabilities();
        }
        int draws = 3000;
        int[] counts = new int[p.length];
        for (int i = 0; i < draws; i++) {
            counts[new StochasticBeamSearch(model, 1, 1.0, 1000 + i).search(prompt, 1).getFirst().tokens()[0]]++;
        }
        // cells with expected count >= 5, the rest lumped into one
        double chi2 = 0;
        int cells = 0;
        double restE = 0;
        double restO = 0;
        for (int v = 0; v < p.length; v++) {
            double e = p[v] * draws;
            if (e >= 5) {
                chi2 += (counts[v] - e) * (counts[v] - e) / e;
                cells++;
            } else {
                restE += e;
                restO += counts[v];
            }
        }
        if (restE > 0) {
            chi2 += (restO - restE) * (restO - restE) / restE;
            cells++;
        }
        assertTrue(cells >= 3, "too few cells: " + cells);
        // 0.999 quantile of chi-squared with df degrees of freedom, Wilson-Hilferty approximation
        int df = cells - 1;
        double z = 3.0902;
        double critical = df * Math.pow(1 - 2.0 / (9 * df) + z * Math.sqrt(2.0 / (9 * df)), 3);
        assertTrue(chi2 < critical, "chi2 " + chi2 + " >= " + critical + " with " + df + " degrees of freedom");
    }

    @Test
    void stochasticBeamsAreDistinctReproducibleAndOrderedByKey() {
        int[] prompt = ids("Once upon a time");
        List<Hypothesis> a = new StochasticBeamSearch(model, 4, 1.0, 42).search(prompt, 8);
        List<Hypothesis> b = new StochasticBeamSearch(model, 4, 1.0, 42).search(prompt, 8);
        assertEquals(4, a.size());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
            assertTrue(seen.add(Arrays.toString(a.get(i).tokens())), "sampled without replacement");
            if (i > 0) {
                assertTrue(a.get(i - 1).score() >= a.get(i).score());
            }
            assertTrue(a.get(i).score() <= 0, "keys stay below the root key 0");
        }
    }

    @Test
    void gumbelShiftKeepsTheMaximumAtTheParentKey() {
        assertEquals(-1.5, StochasticBeamSearch.shift(-1.5, 3.0, 3.0), 1e-12);
        // direct formula where it is stable
        double t = -1.0, z = 0.5, g = -0.2;
        assertEquals(-Math.log(Math.exp(-t) - Math.exp(-z) + Math.exp(-g)), StochasticBeamSearch.shift(t, z, g), 1e-12);
    }
}
