package dev.metagen.llamacpp;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link LlamaCppModel} against metagen's pure-Java {@link TransformerModel} on stories260K and on synthesized
 * llama and qwen2 files (F32 weights; llama.cpp runs with an F32 KV cache and without flash attention, so only the
 * summation order differs), and the SPI's state operations (fork, truncate, batched forward, forwardAll) against
 * recomputation on the llama.cpp side alone.
 */
class LlamaCppModelTest {

    /**
     * Bound on max |p_llama.cpp - p_metagen| over the whole vocabulary and all 32 greedy steps. Measured on a
     * 2-core x86 machine: stories260K 1.3e-6, tiny-llama 3.6e-6, tiny-qwen2 4.5e-6 (printed by the test).
     */
    static final double ENGINE_TOLERANCE = 1e-4;
    /** Same backend, different batch composition: ggml may pick other kernels for other row counts. */
    static final double BATCH_TOLERANCE = 1e-5;
    /** Bound on max |h_llama.cpp - h_metagen| over hidden-state components; measured: stories260K 5.3e-6, tiny-qwen2 2.0e-4. */
    static final double HIDDEN_TOLERANCE = 1e-3;
    static final int STEPS = 32;
    static final int[] PROMPT = {1, 300, 17, 42, 511, 260};

    @TempDir
    static Path dir;

    private static final Map<String, Path> FILES = new LinkedHashMap<>();
    private static final Map<String, LlamaCppModel> LLAMA = new LinkedHashMap<>();
    private static final Map<String, TransformerModel> ENGINE = new LinkedHashMap<>();

    @BeforeAll
    static void requireLibrary() {
        if (!LlamaCppModel.libraryAvailable()) {
            String msg = "\n*** SKIPPED: llama.cpp library not found (" + LlamaLibrary.LIBRARY_FILE + "). Run ./run-tests"
                    + " once (it installs node-llama-cpp under " + LlamaLibrary.NODE_MODULES_DIR + ") or set -D"
                    + LlamaLibrary.PROPERTY + " / " + LlamaLibrary.ENV + ". ***\n";
            System.err.println(msg);
            Assumptions.abort(msg);
        }
        FILES.put("stories260K", SharedData.stories260k());
        for (String preset : List.of("tiny-llama", "tiny-qwen2")) {
            Path file = dir.resolve(preset + ".gguf");
            ModelSynthesizer.builder().preset(preset).type("F32").seed(11).build().write(file);
            FILES.put(preset, file);
        }
        assertTrue(Files.isRegularFile(FILES.get("stories260K")), "missing " + FILES.get("stories260K"));
    }

    @AfterAll
    static void closeAll() {
        LLAMA.values().forEach(LlamaCppModel::close);
        ENGINE.values().forEach(TransformerModel::close);
    }

    static LlamaCppModel llama(String name) {
        return LLAMA.computeIfAbsent(name, n -> LlamaCppModel.load(FILES.get(n),
                LlamaCppOptions.DEFAULTS.withContextLength(512).withThreads(1)));
    }

    static TransformerModel engine(String name) {
        return ENGINE.computeIfAbsent(name, n -> TransformerModel.load(FILES.get(n), new ModelOptions(2, 512)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-llama", "tiny-qwen2"})
    void tokenizationEqualsEngine(String name) {
        Tokenizer ours = engine(name).tokenizer();
        Tokenizer theirs = llama(name).tokenizer();
        assertEquals(ours.vocabSize(), theirs.vocabSize());
        assertEquals(ours.special().bos(), theirs.special().bos());
        assertEquals(ours.special().eos(), theirs.special().eos());
        assertEquals(ours.special().addBos(), theirs.special().addBos());
        assertEquals(ours.special().endOfGeneration(), theirs.special().endOfGeneration());
        for (String s : List.of("Once upon a time", "Hello, world!", " leading space", "two  spaces\nand a newline",
                "Lily's cat said: \"no\".", "unicode: café, naïve, 東京, 😀", "", "123 4567 89", "<s> not special")) {
            assertArrayEquals(ours.encode(s, true), theirs.encode(s, true), () -> "encode with BOS: " + s);
            int[] ids = ours.encode(s, false);
            assertArrayEquals(ids, theirs.encode(s, false), () -> "encode: " + s);
            assertEquals(ours.decode(ids), theirs.decode(ids), () -> "decode: " + s);
        }
        for (int id = 0; id < ours.vocabSize(); id++) {
            int i = id;
            assertArrayEquals(ours.tokenBytes(id), theirs.tokenBytes(id), () -> "bytes of token " + i);
            assertEquals(ours.tokenText(id), theirs.tokenText(id), () -> "text of token " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-llama", "tiny-qwen2"})
    void greedyContinuationAndProbabilitiesEqualEngine(String name) {
        LanguageModel a = engine(name);
        LanguageModel b = llama(name);
        try (ModelState sa = a.newState(); ModelState sb = b.newState()) {
            Logits la = a.forward(sa, PROMPT);
            Logits lb = b.forward(sb, PROMPT);
            int[] ga = new int[STEPS];
            int[] gb = new int[STEPS];
            double maxDiff = 0;
            for (int step = 0; step < STEPS; step++) {
                maxDiff = Math.max(maxDiff, maxProbabilityDifference(la, lb));
                ga[step] = la.argmax();
                gb[step] = lb.argmax();
                la = a.forward(sa, ga[step]);
                lb = b.forward(sb, ga[step]); // both continue the engine's text, so one divergence is one failure
            }
            System.out.printf("llama.cpp vs engine, %s: max |dp| over %d steps = %.3g%n", name, STEPS, maxDiff);
            assertArrayEquals(ga, gb, "greedy continuation of " + name);
            assertTrue(maxDiff < ENGINE_TOLERANCE, name + ": max |dp| " + maxDiff + " >= " + ENGINE_TOLERANCE);
            assertEquals(PROMPT.length + STEPS, sb.length());
        }
    }

    /**
     * Final-norm hidden states (contrastive search's input) equal the engine's: recomputed on a fork for the first
     * call on a state, then recorded by every forward of the state and its forks, and recomputed after a truncate.
     * Bound on max |h_llama.cpp - h_metagen|, measured on a 2-core x86 machine and printed below.
     */
    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-qwen2"})
    void hiddenStatesEqualTheEngines(String name) {
        LanguageModel a = engine(name);
        LanguageModel b = llama(name);
        double max = 0;
        try (ModelState sa = a.newState(); ModelState sb = b.newState()) {
            a.forward(sa, PROMPT);
            b.forward(sb, PROMPT);
            max = Math.max(max, maxDifference(a.lastHiddenState(sa), b.lastHiddenState(sb)));
            for (int t : new int[] {5, 77, 300}) {
                a.forward(sa, t);
                b.forward(sb, t);
                max = Math.max(max, maxDifference(a.lastHiddenState(sa), b.lastHiddenState(sb)));
            }
            try (ModelState fa = sa.fork(); ModelState fb = sb.fork()) {
                a.forward(fa, 42, 43);
                b.forward(fb, 42, 43);
                max = Math.max(max, maxDifference(a.lastHiddenState(fa), b.lastHiddenState(fb)));
            }
            sb.truncate(3);
            try (ModelState three = a.newState()) {
                a.forward(three, Arrays.copyOf(PROMPT, 3));
                max = Math.max(max, maxDifference(a.lastHiddenState(three), b.lastHiddenState(sb)));
            }
        }
        System.out.printf("llama.cpp vs engine, %s: max |dh| = %.3g%n", name, max);
        assertTrue(max < HIDDEN_TOLERANCE, name + ": max |dh| " + max + " >= " + HIDDEN_TOLERANCE);
        try (ModelState empty = b.newState()) {
            MetagenException e = assertThrows(MetagenException.class, () -> b.lastHiddenState(empty));
            assertTrue(e.getMessage().contains("no hidden state"), e.getMessage());
        }
    }

    private static double maxDifference(float[] x, float[] y) {
        assertEquals(x.length, y.length);
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            max = Math.max(max, Math.abs(x[i] - y[i]));
        }
        return max;
    }

    @Test
    void forkedStateContinuesLikeRecomputation() {
        LanguageModel m = llama("tiny-qwen2");
        int[] a = {5, 6, 7};
        int[] b = {100, 200};
        try (ModelState s = m.newState()) {
            m.forward(s, PROMPT);
            try (ModelState f = s.fork()) {
                assertArrayEquals(PROMPT, f.tokens());
                Logits fa = m.forward(f, a);
                Logits sb = m.forward(s, b);
                assertClose(fresh(m, concat(PROMPT, a)), fa, "fork");
                assertClose(fresh(m, concat(PROMPT, b)), sb, "original after fork");
                assertArrayEquals(concat(PROMPT, a), f.tokens());
                assertArrayEquals(concat(PROMPT, b), s.tokens());
            }
        }
    }

    @Test
    void truncatedStateContinuesLikeRecomputation() {
        LanguageModel m = llama("tiny-llama");
        try (ModelState s = m.newState()) {
            m.forward(s, concat(PROMPT, new int[]{9, 10, 11, 12}));
            s.truncate(PROMPT.length);
            assertEquals(PROMPT.length, s.length());
            assertArrayEquals(PROMPT, s.tokens());
            Logits l = m.forward(s, 77, 78);
            assertClose(fresh(m, concat(PROMPT, new int[]{77, 78})), l, "truncate");
            assertThrows(MetagenException.class, () -> s.truncate(PROMPT.length + 3));
        }
    }

    @Test
    void batchedForwardEqualsSingleForwards() {
        LanguageModel m = llama("tiny-llama");
        List<int[]> prompts = List.of(new int[]{1, 50, 60}, new int[]{1, 7}, new int[]{1, 400, 401, 402, 403});
        List<ModelState> states = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            states.add(m.newState());
        }
        try {
            List<Logits> batched = m.forward(states, prompts);
            for (int i = 0; i < 3; i++) {
                assertClose(fresh(m, prompts.get(i)), batched.get(i), "state " + i);
            }
            // a second batched step, one token each, continues every sequence separately
            List<Logits> next = m.forward(states, List.of(new int[]{3}, new int[]{4}, new int[]{5}));
            for (int i = 0; i < 3; i++) {
                assertClose(fresh(m, concat(prompts.get(i), new int[]{3 + i})), next.get(i), "step 2, state " + i);
            }
        } finally {
            states.forEach(ModelState::close);
        }
    }

    @Test
    void forwardAllEqualsOneForwardPerToken() {
        LanguageModel m = llama("stories260K");
        try (ModelState all = m.newState(); ModelState one = m.newState()) {
            List<Logits> got = m.forwardAll(all, PROMPT);
            assertEquals(PROMPT.length, got.size());
            for (int i = 0; i < PROMPT.length; i++) {
                assertClose(m.forward(one, PROMPT[i]), got.get(i), "position " + i);
            }
        }
    }

    @Test
    void forwardLongerThanTheBatchIsSplit() {
        Path file = FILES.get("stories260K");
        int[] prompt = new int[40];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 1 + (i * 37) % 500;
        }
        try (LlamaCppModel small = LlamaCppModel.load(file, LlamaCppOptions.DEFAULTS.withBatchSize(16)
                .withContextLength(256).withThreads(1));
             ModelState s = small.newState()) {
            assertClose(fresh(llama("stories260K"), prompt), small.forward(s, prompt), "split forward");
            assertEquals(40, s.length());
        }
    }

    @Test
    void sequencesAreReusedAfterCloseAndRefusedWhenExhausted() {
        try (LlamaCppModel m = LlamaCppModel.load(FILES.get("stories260K"),
                LlamaCppOptions.DEFAULTS.withSequences(2).withContextLength(256).withThreads(1))) {
            ModelState a = m.newState();
            ModelState b = a.fork();
            MetagenException e = assertThrows(MetagenException.class, m::newState);
            assertTrue(e.getMessage().contains("all 2 sequences are in use"), e.getMessage());
            m.forward(b, PROMPT);
            b.close();
            try (ModelState c = m.newState()) {
                // the closed sequence's cells are gone: c starts empty and computes like a fresh state
                assertEquals(0, c.length());
                assertClose(fresh(llama("stories260K"), PROMPT), m.forward(c, PROMPT), "reused sequence");
            }
            a.close();
        }
    }

    @Test
    void badInputIsRefusedWithOneLine() {
        LanguageModel m = llama("stories260K");
        try (ModelState s = m.newState()) {
            MetagenException e = assertThrows(MetagenException.class, () -> m.forward(s, 100000));
            assertTrue(e.getMessage().contains("token id 100000 is outside the vocabulary"), e.getMessage());
            assertEquals(0, s.length());
            assertThrows(MetagenException.class, () -> m.forward(List.of(s, s), List.of(new int[]{1}, new int[]{2})));
            assertThrows(MetagenException.class, () -> m.forward(s, new int[600]));
        }
        // more sequences than llama.cpp has sequence ids: refused with one line
        MetagenException tooMany = assertThrows(MetagenException.class, () -> LlamaCppOptions.DEFAULTS.withSequences(257));
        assertEquals("llama.cpp sequences must be in [1, 256], got 257", tooMany.getMessage());
        MetagenException missing = assertThrows(MetagenException.class,
                () -> LlamaCppModel.load(dir.resolve("absent.gguf")));
        assertTrue(missing.getMessage().contains("model file not found"), missing.getMessage());
    }

    /**
     * More sequences than the batch holds tokens (libllama's output buffer defaults to the batch size and its
     * assertion would abort the process): each of 64 sequences gets its logits, over batches of 8 tokens.
     */
    @Test
    void moreSequencesThanTheBatchHoldsTokensEachGetTheirLogits() {
        try (LlamaCppModel m = LlamaCppModel.load(FILES.get("stories260K"),
                LlamaCppOptions.DEFAULTS.withSequences(64).withBatchSize(8).withContextLength(17).withThreads(1));
             ModelState root = m.newState()) {
            m.forward(root, PROMPT);
            List<ModelState> forks = new ArrayList<>();
            List<int[]> next = new ArrayList<>();
            for (int i = 0; i < 63; i++) {
                forks.add(root.fork());
                next.add(new int[] {20 + i});
            }
            List<Logits> out = m.forward(forks, next);
            assertEquals(63, out.size());
            for (int i : new int[] {0, 31, 62}) {
                assertClose(fresh(llama("stories260K"), concat(PROMPT, next.get(i))), out.get(i), "sequence " + i);
            }
            forks.forEach(ModelState::close);
        }
    }

    @Test
    void infoComesFromTheFile() {
        var ours = engine("tiny-qwen2").info();
        var theirs = llama("tiny-qwen2").info();
        assertEquals(ours.architecture(), theirs.architecture());
        assertEquals(ours.vocabSize(), theirs.vocabSize());
        assertEquals(ours.embeddingLength(), theirs.embeddingLength());
        assertEquals(ours.layers(), theirs.layers());
        assertEquals(ours.name(), theirs.name());
        assertEquals(512, theirs.contextLength());
    }

    @Test
    void concurrentCallersOnOneContextGetTheirOwnResults() throws Exception {
        LanguageModel m = llama("stories260K");
        List<int[]> prompts = List.of(new int[]{1, 50}, new int[]{1, 300, 17}, new int[]{1, 260, 42, 9});
        List<int[]> expected = new ArrayList<>();
        for (int[] p : prompts) {
            expected.add(greedy(m, p, 12));
        }
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(3)) {
            for (int round = 0; round < 3; round++) {
                List<java.util.concurrent.Future<int[]>> futures = new ArrayList<>();
                for (int[] p : prompts) {
                    futures.add(pool.submit(() -> greedy(m, p, 12)));
                }
                for (int i = 0; i < prompts.size(); i++) {
                    assertArrayEquals(expected.get(i), futures.get(i).get(), "prompt " + i + ", round " + round);
                }
            }
        }
    }

    private static int[] greedy(LanguageModel m, int[] prompt, int n) {
        int[] out = new int[n];
        try (ModelState s = m.newState()) {
            Logits l = m.forward(s, prompt);
            for (int i = 0; i < n; i++) {
                out[i] = l.argmax();
                l = m.forward(s, out[i]);
            }
        }
        return out;
    }

    private static Logits fresh(LanguageModel m, int[] tokens) {
        try (ModelState s = m.newState()) {
            return m.forward(s, tokens);
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void assertClose(Logits expected, Logits actual, String what) {
        assertEquals(expected.argmax(), actual.argmax(), what + ": argmax");
        double d = maxProbabilityDifference(expected, actual);
        assertTrue(d < BATCH_TOLERANCE, what + ": max |dp| " + d + " >= " + BATCH_TOLERANCE);
    }

    static double maxProbabilityDifference(Logits a, Logits b) {
        assertEquals(a.size(), b.size());
        double[] pa = a.probabilities();
        double[] pb = b.probabilities();
        double max = 0;
        for (int i = 0; i < pa.length; i++) {
            max = Math.max(max, Math.abs(pa[i] - pb[i]));
        }
        return max;
    }
}
