package dev.metagen.decoding.speculative;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.testing.TestModels;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Speculative decoding on stories260K: greedy output equals plain greedy decoding token for token (draft = a
 * random-weight llama sharing the vocabulary, stories260K itself, prompt lookup), and speculative sampling's
 * two-token continuations follow the target's exact adapted distribution (chi-squared against enumeration).
 */
@Tag("model")
class SpeculativeGeneratorTest {
    static final String PROMPT = "Once upon a time, there was a little girl. She liked to play. Once upon a time,";
    @TempDir
    static Path dir;
    static LanguageModel target;
    static LanguageModel draft;

    @BeforeAll
    static void open() {
        target = TestModels.stories260k();
        Path synth = dir.resolve("draft.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").tokenizerFrom(TestModels.stories260kPath()).seed(9).build().write(synth);
        draft = TestModels.load(synth);
    }

    @AfterAll
    static void close() {
        target.close();
        draft.close();
    }

    static Generation plainGreedy(int n) {
        return new SamplingGenerator(target).generate(Prompt.of(PROMPT), GenerationParams.greedy(n));
    }

    @Test
    void greedyWithSynthesizedDraftEqualsPlainGreedy() {
        Generation plain = plainGreedy(60);
        DraftModelSource probe = new DraftModelSource(draft, 1);
        probe.checkVocabulary(target);
        Generation spec = new SpeculativeGenerator(target, () -> new DraftModelSource(draft, 1), 4)
                .generate(Prompt.of(PROMPT), GenerationParams.greedy(60));
        assertArrayEquals(plain.tokens(), spec.tokens());
        assertEquals(plain.text(), spec.text());
        assertArrayEquals(plain.logprobs(), spec.logprobs(), 1e-3);
        assertEquals(plain.finish(), spec.finish());
    }

    @Test
    void greedyWithTheTargetAsDraftAcceptsEverything() {
        Generation plain = plainGreedy(60);
        Generation spec = new SpeculativeGenerator(target, () -> new DraftModelSource(target, 1), 5)
                .generate(Prompt.of(PROMPT), GenerationParams.greedy(60));
        assertArrayEquals(plain.tokens(), spec.tokens());
        assertEquals(1.0, (double) spec.trace().get("acceptance_rate"));
        // each round yields its k drafts plus the target's own token
        assertTrue((double) spec.trace().get("tokens_per_target_forward") > 5.0, spec.trace().toString());
    }

    @Test
    void greedyWithPromptLookupEqualsPlainGreedy() {
        Generation plain = plainGreedy(80);
        Generation spec = new SpeculativeGenerator(target, () -> new PromptLookupSource(3), 6)
                .generate(Prompt.of(PROMPT), GenerationParams.greedy(80));
        assertArrayEquals(plain.tokens(), spec.tokens());
        assertEquals(plain.text(), spec.text());
        long drafted = (long) spec.trace().get("drafted_tokens");
        assertTrue(drafted > 0, "the repetitive story gave prompt lookup something to draft");
        assertTrue((long) spec.cost().modelCalls() < plain.cost().modelCalls(), spec.trace().toString());
    }

    @Test
    void promptLookupProposesWhatFollowedTheLatestMatch() {
        PromptLookupSource s = new PromptLookupSource(2);
        // last bigram (3, 4) occurs at 1 and 5; the later one is followed by 9
        assertArrayEquals(new int[]{9, 3}, s.propose(new int[]{1, 3, 4, 7, 2, 3, 4, 9, 3, 4}, 2, null).tokens());
        // no bigram match: falls back to the last unigram (4 at index 1, followed by 5 6)
        assertArrayEquals(new int[]{5, 6, 4}, s.propose(new int[]{8, 4, 5, 6, 4}, 5, null).tokens());
        assertEquals(0, s.propose(new int[]{1, 2, 3}, 4, null).size());
    }

    @Test
    void unsupportedAdaptersAndBadSettingsAreRejected() {
        SpeculativeGenerator g = new SpeculativeGenerator(target, () -> new PromptLookupSource(2), 4);
        MetagenException e = assertThrows(MetagenException.class,
                () -> g.generate(new int[] {1}, GenerationParams.greedy(4).withSampling(new SamplingConfig().temperature(1).penalties(1.3, 0, 0, 64))));
        assertTrue(e.getMessage().contains("PenaltySampler"), e.getMessage());
        assertThrows(MetagenException.class, () -> new SpeculativeGenerator(target, () -> new PromptLookupSource(2), 0));
        assertThrows(MetagenException.class, () -> new PromptLookupSource(0));
    }

    /** A draft that rejects almost everything (random weights): the residual draws carry the distribution. */
    @Test
    void samplingWithARandomDraftFollowsTheTargetDistribution() {
        long[] acc = sampleAndTest(draft, 500);
        assertTrue(acc[1] > 0, "nothing was drafted");
    }

    /** A draft close to the target (its logits flattened): accepted drafts and corrections mix. */
    @Test
    void samplingWithACloseDraftFollowsTheTargetDistribution() {
        long[] acc = sampleAndTest(new Flattened(target, 0.6f), 1000);
        assertTrue(acc[0] > 0 && acc[0] < acc[1], acc[0] + " of " + acc[1] + " drafts accepted");
    }

    /**
     * Draws three-token continuations (k = 2, so both drafted positions are verified in one forward) and compares
     * the frequencies of the first two tokens with the exact target distribution; returns {accepted, drafted}.
     */
    static long[] sampleAndTest(LanguageModel draftModel, int draws) {
        String prompt = "Once upon a time, there was a";
        int[] ids = target.tokenizer().encode(prompt, true, false);
        TargetDistribution p = TargetDistribution.of(config(0));
        Map<Long, Double> exact = joint(target, p, ids);
        Map<Long, Double> draftJoint = joint(draftModel, p, ids);
        Map<Long, Integer> counts = new HashMap<>();
        long accepted = 0;
        long drafted = 0;
        for (int i = 0; i < draws; i++) {
            long seed = i;
            Generation gen = new SpeculativeGenerator(target, () -> new DraftModelSource(draftModel, seed * 7919 + 1), 2)
                    
                    .generate(ids, (GenerationParams.greedy(3)).withSampling(config(seed)).withSeed((config(seed)).seed()));
            assertTrue(gen.tokens().length >= 2, "ended early: " + gen.text());
            counts.merge(key(gen.tokens()[0], gen.tokens()[1]), 1, Integer::sum);
            accepted += (long) gen.trace().get("accepted_tokens");
            drafted += (long) gen.trace().get("drafted_tokens");
        }
        for (long k : counts.keySet()) {
            assertTrue(exact.containsKey(k), "drew a pair outside the target's support");
        }
        double[] chi = chiSquared(counts, exact, draws);
        assertTrue(chi[0] < chiQuantile999(chi[1]), "chi2 " + chi[0] + " df " + chi[1]);
        // power: the same test clearly rejects the draft model's own distribution
        double[] chiDraft = chiSquared(counts, draftJoint, draws);
        assertTrue(chiDraft[0] > chiQuantile999(chiDraft[1]), "the draws also fit the draft's distribution: chi2 "
                + chiDraft[0] + " df " + chiDraft[1]);
        return new long[]{accepted, drafted};
    }

    static SamplingConfig config(long seed) {
        return new SamplingConfig().temperature(1.0).topK(4).minP(0.02).seed(seed);
    }

    /** The target with its logits scaled by {@code factor}: a draft whose distribution is close but not equal. */
    record Flattened(LanguageModel inner, float factor) implements LanguageModel {
        public dev.metagen.core.Tokenizer tokenizer() {
            return inner.tokenizer();
        }

        public dev.metagen.core.ModelInfo info() {
            return inner.info();
        }

        public ModelState newState() {
            return inner.newState();
        }

        public java.util.List<dev.metagen.core.Logits> forward(java.util.List<ModelState> states, java.util.List<int[]> tokens) {
            return inner.forward(states, tokens).stream().map(l -> {
                float[] v = l.values().clone();
                for (int i = 0; i < v.length; i++) {
                    v[i] *= factor;
                }
                return new dev.metagen.core.Logits(v);
            }).toList();
        }

        public void close() {
        }
    }

    static long key(int a, int b) {
        return ((long) a << 32) | b;
    }

    /** The exact distribution of the first two tokens, by enumerating the (top-k-limited) support. */
    static Map<Long, Double> joint(LanguageModel m, TargetDistribution p, int[] prompt) {
        Map<Long, Double> out = new HashMap<>();
        double[] p1;
        try (ModelState s = m.newState()) {
            p1 = p.probabilities(m.forward(s, prompt).values());
        }
        for (int a = 0; a < p1.length; a++) {
            if (p1[a] == 0) {
                continue;
            }
            try (ModelState s = m.newState()) {
                m.forward(s, prompt);
                double[] p2 = p.probabilities(m.forward(s, a).values());
                for (int b = 0; b < p2.length; b++) {
                    if (p2[b] > 0) {
                        out.put(key(a, b), p1[a] * p2[b]);
                    }
                }
            }
        }
        return out;
    }

    /** Pearson's statistic with cells of expected count below 5 pooled; returns {statistic, degrees of freedom}. */
    static double[] chiSquared(Map<Long, Integer> counts, Map<Long, Double> probs, int n) {
        double stat = 0;
        int cells = 0;
        double pooledE = 0;
        double pooledO = 0;
        for (Map.Entry<Long, Double> e : probs.entrySet()) {
            double expected = e.getValue() * n;
            int observed = counts.getOrDefault(e.getKey(), 0);
            if (expected < 5) {
                pooledE += expected;
                pooledO += observed;
            } else {
                stat += (observed - expected) * (observed - expected) / expected;
                cells++;
            }
        }
        // draws outside the support count as observations of the pooled cell
        int outside = 0;
        for (Map.Entry<Long, Integer> e : counts.entrySet()) {
            if (!probs.containsKey(e.getKey())) {
                outside += e.getValue();
            }
        }
        pooledO += outside;
        if (pooledE > 0) {
            stat += (pooledO - pooledE) * (pooledO - pooledE) / Math.max(pooledE, 1e-9);
            cells++;
        }
        return new double[]{stat, Math.max(1, cells - 1)};
    }

    /** The 0.999 quantile of chi-squared with {@code df} degrees of freedom (Wilson-Hilferty approximation). */
    static double chiQuantile999(double df) {
        double z = 3.0902;
        double t = 2.0 / (9 * df);
        return df * Math.pow(1 - t + z * Math.sqrt(t), 3);
    }
}
