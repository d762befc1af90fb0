package dev.metagen.decoding.guidance;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.decoding.sampling.Candidates;
import dev.metagen.decoding.sampling.Sampler;
import dev.metagen.decoding.sampling.SamplerChain;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.testing.TestModels;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Contrastive decoding, product of experts and classifier-free guidance on two real models sharing a vocabulary:
 * stories260K and a synthesized random-weight llama that copies its tokenizer. At every step of a sampled
 * continuation the combined distribution is checked against the formula, computed from fresh states of both
 * models on the same prefix.
 */
@Tag("model")
class GuidanceTest {
    static final int STEPS = 12;
    @TempDir
    static Path dir;
    static LanguageModel main;
    static LanguageModel other;
    static LanguageModel smaller;

    @BeforeAll
    static void open() {
        main = TestModels.stories260k();
        Path synth = dir.resolve("amateur.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").tokenizerFrom(TestModels.stories260kPath()).seed(5).build().write(synth);
        other = TestModels.load(synth);
        Path small = dir.resolve("small-vocab.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").vocab(300).seed(6).build().write(small);
        smaller = TestModels.load(small);
    }

    @AfterAll
    static void close() {
        main.close();
        other.close();
        smaller.close();
    }

    static double[] logprobs(LanguageModel m, int[] prefix) {
        try (ModelState s = m.newState()) {
            return m.forward(s, prefix).logProbabilities();
        }
    }

    static double[] softmax(double[] score) {
        double max = Arrays.stream(score).max().orElseThrow();
        double z = 0;
        double[] p = new double[score.length];
        for (int i = 0; i < p.length; i++) {
            z += p[i] = score[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(score[i] - max);
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= z;
        }
        return p;
    }

    /**
     * Samples {@code STEPS} tokens with {@code adapter} first in the chain (temperature 1, nothing else) and checks
     * each step's distribution against {@code formula(prefix)} (scores whose softmax is the expected distribution).
     */
    static void assertFollowsFormula(Sampler adapter, BiFunction<int[], double[], double[]> formula) {
        int[] prefix = main.tokenizer().encode("Once upon a time", true);
        SamplerChain chain = SamplerChain.build(new SamplingConfig().seed(21), main.tokenizer(), List.of(adapter));
        chain.begin(prefix);
        try (ModelState s = main.newState()) {
            Logits logits = main.forward(s, prefix);
            for (int step = 0; step < STEPS; step++) {
                int next = chain.sample(logits.values(), prefix, step);
                Candidates c = chain.lastCandidates();
                double[] expected = softmax(formula.apply(prefix, logprobs(main, prefix)));
                for (int id = 0; id < expected.length; id++) {
                    assertEquals(expected[id], c.probabilityOf(id), 1e-4, "p(" + id + ") at step " + step);
                }
                prefix = Arrays.copyOf(prefix, prefix.length + 1);
                prefix[prefix.length - 1] = next;
                logits = main.forward(s, next);
            }
        }
    }

    @Test
    void contrastiveDecodingIsExpertMinusAmateurOverPlausibleTokens() {
        double alpha = 0.1;
        try (ContrastiveDecoding cd = new ContrastiveDecoding(other, alpha)) {
            assertFollowsFormula(cd, (prefix, expert) -> {
                double[] amateur = logprobs(other, prefix);
                double max = Arrays.stream(expert).max().orElseThrow();
                double[] s = new double[expert.length];
                for (int v = 0; v < s.length; v++) {
                    s[v] = Math.exp(expert[v]) >= alpha * Math.exp(max) ? expert[v] - amateur[v] : Double.NEGATIVE_INFINITY;
                }
                return s;
            });
        }
    }

    @Test
    void productOfExpertsIsAWeightedSumOfLogProbabilities() {
        try (ProductOfExperts poe = new ProductOfExperts(1.0, List.of(other), List.of(-0.5))) {
            assertFollowsFormula(poe, (prefix, m) -> {
                double[] o = logprobs(other, prefix);
                double[] s = new double[m.length];
                for (int v = 0; v < s.length; v++) {
                    s[v] = m[v] - 0.5 * o[v];
                }
                return s;
            });
        }
    }

    @Test
    void classifierFreeGuidanceExtrapolatesFromTheUnconditionalContext() {
        double gamma = 1.5;
        int[] uncond = {1}; // BOS only
        try (ClassifierFreeGuidance cfg = new ClassifierFreeGuidance(main, uncond, gamma)) {
            int promptLength = main.tokenizer().encode("Once upon a time", true).length;
            assertFollowsFormula(cfg, (prefix, cond) -> {
                // the unconditional context is BOS plus the generated tokens only
                int[] u = new int[1 + prefix.length - promptLength];
                u[0] = 1;
                System.arraycopy(prefix, promptLength, u, 1, prefix.length - promptLength);
                double[] lu = logprobs(main, u);
                double[] s = new double[cond.length];
                for (int v = 0; v < s.length; v++) {
                    s[v] = lu[v] + gamma * (cond[v] - lu[v]);
                }
                return s;
            });
        }
    }

    @Test
    void adaptersWorkInsideTheGenerator() {
        try (ProductOfExperts poe = new ProductOfExperts(1.0, List.of(other), List.of(0.5))) {
            Generation g = new SamplingGenerator(main)
                    .withAdapters(List.of(poe)).generate(dev.metagen.core.Prompt.of("Once upon a time"), (GenerationParams.greedy(10)).withSampling(new SamplingConfig().temperature(0.7).seed(3)).withSeed((new SamplingConfig().temperature(0.7).seed(3)).seed()));
            assertEquals(10, g.tokens().length);
        }
    }

    @Test
    void mismatchedVocabulariesAndBadParametersAreRejected() {
        try (ContrastiveDecoding cd = new ContrastiveDecoding(smaller, 0.1)) {
            SamplerChain chain = SamplerChain.build(new SamplingConfig().seed(1), main.tokenizer(), List.of(cd));
            // a prompt token beyond the smaller vocabulary
            MetagenException e = assertThrows(MetagenException.class, () -> chain.begin(new int[] {1, 403}));
            assertTrue(e.getMessage().contains("vocabulary"), e.getMessage());
            // a prompt inside both vocabularies: the candidate set is larger than the other model's distribution
            int[] prompt = {1, 100};
            chain.begin(prompt);
            float[] logits = logprobsAsFloats(main, prompt);
            e = assertThrows(MetagenException.class, () -> chain.sample(logits, prompt, 0));
            assertTrue(e.getMessage().contains("vocabulary"), e.getMessage());
        }
        assertThrows(MetagenException.class, () -> new ContrastiveDecoding(other, 0));
        assertThrows(MetagenException.class, () -> new ProductOfExperts(1, List.of(other), List.of()));
        assertThrows(MetagenException.class, () -> new ClassifierFreeGuidance(main, new int[0], 1.5));
        assertThrows(MetagenException.class, () -> new ClassifierFreeGuidance(main, new int[] {1}, Double.NaN));
    }

    static float[] logprobsAsFloats(LanguageModel m, int[] prefix) {
        try (ModelState s = m.newState()) {
            return m.forward(s, prefix).values();
        }
    }
}
