package dev.metagen.decoding.sampling;

import dev.metagen.core.SamplingConfig;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.decoding.testing.LlamaCppSampling;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Our sampler chain against llama.cpp's (node-llama-cpp 3.22.1) on stories260K: along our own sampled
 * continuation, at every step llama.cpp gets the same prefix and must keep the same candidate set with the same
 * probabilities (and, for greedy, choose the same token). Samplers compared: greedy, temperature, top-k, top-p,
 * min-p, XTC (probability 1, so both sides apply it) and repetition/frequency/presence penalties. llama.cpp
 * through node-llama-cpp has no typical-p, top-n-sigma or mirostat, and its DRY sampler never sees the prompt as
 * history (no effect on a prefix evaluated at once), so those are only checked by hand in {@link AdaptersTest}.
 */
@Tag("model")
class LlamaCppSamplingTest {
    static final int STEPS = 24;
    static final double TOLERANCE = 1e-4;
    static final double ENGINE_TOLERANCE = 1e-4;
    static LanguageModel model;
    static LlamaCppSampling llama;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
        llama = new LlamaCppSampling();
    }

    @AfterAll
    static void close() {
        llama.close();
        model.close();
    }

    record Ours(List<int[]> prefixes, List<Candidates> candidates, List<Integer> tokens, List<float[]> rawLogits) {}

    static Ours run(SamplingConfig config, String prompt) {
        int[] ids = model.tokenizer().encode(prompt, true);
        SamplerChain chain = SamplerChain.build(config, model.tokenizer());
        List<int[]> prefixes = new ArrayList<>();
        List<Candidates> cands = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        List<float[]> raw = new ArrayList<>();
        int[] history = ids;
        try (ModelState s = model.newState()) {
            Logits logits = model.forward(s, ids);
            for (int step = 0; step < STEPS; step++) {
                int next = chain.sample(logits.values(), history, step);
                prefixes.add(history);
                raw.add(logits.values().clone());
                cands.add(chain.lastCandidates().copy());
                tokens.add(next);
                history = Arrays.copyOf(history, history.length + 1);
                history[history.length - 1] = next;
                logits = model.forward(s, next);
            }
        }
        return new Ours(prefixes, cands, tokens, raw);
    }

    /**
     * Along our sampled continuation, llama.cpp's full next-token distribution at each prefix is turned back into
     * logits ({@code ln p}) and put through our chain; the result must be llama.cpp's own adapted candidate set
     * with the same probabilities. Feeding both chains the same logits separates the sampler logic from the
     * engines' float differences; then the same is checked end to end on our own engine's logits.
     */
    static void assertAgrees(SamplingConfig config, Map<String, Object> llamaOptions, String prompt) {
        Ours ours = run(config, prompt);
        List<LlamaCppSampling.Step> raw = llama.logits(TestModels.stories260kPath(), ours.prefixes());
        List<LlamaCppSampling.Step> ref = llama.steps(TestModels.stories260kPath(), ours.prefixes(), llamaOptions);
        assertEquals(STEPS, ref.size());
        int vocab = model.tokenizer().vocabSize();
        int maxSet = 0;
        for (int step = 0; step < STEPS; step++) {
            float[] logits = new float[vocab];
            Arrays.fill(logits, Float.NEGATIVE_INFINITY);
            LlamaCppSampling.Step full = raw.get(step);
            for (int i = 0; i < full.ids().length; i++) {
                logits[full.ids()[i]] = (float) full.probs()[i];
            }
            SamplerChain chain = SamplerChain.build(config, model.tokenizer());
            chain.sample(logits, ours.prefixes().get(step), step);
            Candidates c = chain.lastCandidates();
            double[] p = c.probabilities();
            LlamaCppSampling.Step r = ref.get(step);
            int[] ourIds = new int[c.size()];
            int n = 0;
            for (int i = 0; i < c.size(); i++) {
                if (p[i] > 0) {
                    ourIds[n++] = c.id(i);
                }
            }
            int[] a = Arrays.copyOf(ourIds, n);
            int[] b = r.ids().clone();
            Arrays.sort(a);
            Arrays.sort(b);
            assertArrayEquals(b, a, "candidate set at step " + step + " for " + llamaOptions);
            for (int i = 0; i < c.size(); i++) {
                assertEquals(r.probOf(c.id(i)), p[i], TOLERANCE, "p(token " + c.id(i) + ") at step " + step + " for " + llamaOptions);
            }
            // end to end, our engine's logits through our chain give the same candidates too (with F32 KV cache and
            // no flash attention llama.cpp's logits agree with ours to ~1e-5, far from these cutoffs)
            Candidates e2e = ours.candidates().get(step);
            double[] pe = e2e.probabilities();
            int m = 0;
            for (int i = 0; i < e2e.size(); i++) {
                if (pe[i] > 0) {
                    m++;
                    assertEquals(r.probOf(e2e.id(i)), pe[i], ENGINE_TOLERANCE, "end-to-end p(token " + e2e.id(i) + ") at step " + step);
                }
            }
            assertEquals(b.length, m, "end-to-end candidate count at step " + step);
            // and our engine's raw distribution on the same prefix is close to llama.cpp's
            double[] engine = new dev.metagen.core.Logits(ours.rawLogits().get(step)).probabilities();
            double[] reference = new dev.metagen.core.Logits(logits).probabilities();
            for (int id = 0; id < vocab; id++) {
                assertEquals(reference[id], engine[id], ENGINE_TOLERANCE, "engine p(token " + id + ") at step " + step);
            }
            maxSet = Math.max(maxSet, n);
        }
        assertTrue(maxSet > 1, "the comparison never had a choice: " + llamaOptions);
    }

    static Map<String, Object> opts(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("topK", 0);   // node-llama-cpp defaults to top-k 40 and top-p 0.95: switch them off unless set
        m.put("topP", 1);
        m.put("seed", 1);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void greedyChoosesLlamaCppsTokens() {
        Ours ours = run(SamplingConfig.greedy(), "Once upon a time");
        List<int[]> prefixes = ours.prefixes();
        List<LlamaCppSampling.Step> ref = llama.steps(TestModels.stories260kPath(), prefixes, opts("temperature", 0));
        for (int step = 0; step < STEPS; step++) {
            assertEquals(ref.get(step).ids()[0], ours.tokens().get(step), "greedy token at step " + step);
        }
    }

    @Test
    void temperatureOnly() {
        assertAgrees(new SamplingConfig().temperature(0.8).seed(3), opts("temperature", 0.8), "Once upon a time");
    }

    @Test
    void topKAndTemperature() {
        assertAgrees(new SamplingConfig().topK(10).temperature(1.3).seed(4), opts("temperature", 1.3, "topK", 10), "Lily and Tom");
    }

    @Test
    void topP() {
        assertAgrees(new SamplingConfig().topP(0.9).temperature(1.2).seed(5), opts("temperature", 1.2, "topP", 0.9), "The cat");
    }

    @Test
    void minP() {
        assertAgrees(new SamplingConfig().minP(0.05).temperature(1.5).seed(6), opts("temperature", 1.5, "minP", 0.05), "One day");
    }

    @Test
    void llamaCppDefaultsTopKTopPMinP() {
        assertAgrees(new SamplingConfig().topK(40).topP(0.95).minP(0.05).temperature(0.8).seed(7),
                opts("temperature", 0.8, "topK", 40, "topP", 0.95, "minP", 0.05), "Once upon a time");
    }

    @Test
    void penalties() {
        assertAgrees(new SamplingConfig().penalties(1.3, 0.2, 0.1, -1).topK(20).temperature(1.0).seed(8),
                opts("temperature", 1.0, "topK", 20, "repeatPenalty", Map.of("penalty", 1.3, "frequencyPenalty", 0.2,
                        "presencePenalty", 0.1)), "Once upon a time, Lily");
    }

    @Test
    void xtc() {
        assertAgrees(new SamplingConfig().xtc(1.0, 0.1).topK(20).temperature(1.0).seed(9),
                opts("temperature", 1.0, "topK", 20, "xtc", Map.of("probability", 1.0, "threshold", 0.1)), "Once upon a time");
    }
}
