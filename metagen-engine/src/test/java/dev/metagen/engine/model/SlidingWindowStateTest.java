package dev.metagen.engine.model;

import dev.metagen.core.ModelState;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A Gemma 3 model (sliding window of 12 in five of six layers) through the paged KV cache's other paths: prompt blocks
 * adopted from the prefix cache, forks, truncation and batched states give the distributions of a plain forward.
 * The window is a mask over the cached positions, so each path must agree with the plain run; the comparison allows
 * the Gemma 3 rounding noise of {@code ArchitectureConformanceTest} (half-precision GELU steps), far below what a
 * wrong window or a wrong rope base does (the last check shows the size of that).
 */
class SlidingWindowStateTest {
    static final double NOISE = 4e-3;

    @TempDir
    static Path dir;
    static Path gemma3;
    static final int[] PROMPT = prompt(40);

    @BeforeAll
    static void synthesize() {
        gemma3 = dir.resolve("tiny-gemma3.gguf");
        ModelSynthesizer.builder().preset("tiny-gemma3").seed(11).build().write(gemma3);
    }

    @Test
    void prefixCacheForksTruncationAndBatchesMatchAPlainForward() {
        double[] plain;
        double[] plainLonger;
        int[] longer = Arrays.copyOf(PROMPT, 45);
        for (int i = 40; i < 45; i++) {
            longer[i] = 7 + i;
        }
        try (TransformerModel m = TransformerModel.load(gemma3, new ModelOptions(1, 128).withPrefixCache(false));
             ModelState s = m.newState(); ModelState t = m.newState()) {
            plain = m.forward(s, PROMPT).probabilities();
            plainLonger = m.forward(t, longer).probabilities();
        }
        try (TransformerModel m = TransformerModel.load(gemma3, new ModelOptions(1, 128))) {
            ModelState first = m.newState();
            close(plain, m.forward(first, PROMPT).probabilities(), "first run");
            // a second state adopts the two cached blocks (32 positions) and computes the last 8 rows
            ModelState second = m.newState();
            close(plain, m.forward(second, PROMPT).probabilities(), "prompt blocks from the prefix cache");
            assertEquals(32, m.kvStats().reusedTokens());
            // a fork continues from the shared blocks
            ModelState fork = first.fork();
            close(plainLonger, m.forward(fork, Arrays.copyOfRange(longer, 40, 45)).probabilities(), "fork");
            // truncation inside the window of the end, then the same tokens again
            second.truncate(30);
            close(plain, m.forward(second, Arrays.copyOfRange(PROMPT, 30, 40)).probabilities(), "truncated");
            // two states in one batch
            ModelState a = m.newState();
            ModelState b = m.newState();
            var both = m.forward(List.of(a, b), List.of(Arrays.copyOf(PROMPT, 25), longer));
            close(plainLonger, both.get(1).probabilities(), "batched");
            for (ModelState s : List.of(first, second, fork, a, b)) {
                s.close();
            }
        }
        // what a wrong window looks like: the same weights with every layer global
        Path wide = dir.resolve("tiny-gemma3-global.gguf");
        ModelSynthesizer.builder().preset("tiny-gemma3").slidingWindow(0).seed(11).build().write(wide);
        try (TransformerModel m = TransformerModel.load(wide, new ModelOptions(1, 128)); ModelState s = m.newState()) {
            assertNull(m.config().variant().slidingLayers());
            assertTrue(maxDiff(plain, m.forward(s, PROMPT).probabilities()) > 10 * NOISE, "the window matters");
        }
    }

    private static void close(double[] expected, double[] actual, String what) {
        double d = maxDiff(expected, actual);
        assertTrue(d < NOISE, what + ": max |dp| " + d);
    }

    private static double maxDiff(double[] a, double[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    private static int[] prompt(int n) {
        SplittableRandom r = new SplittableRandom(3);
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) {
            p[i] = 3 + r.nextInt(500);
        }
        return p;
    }
}
