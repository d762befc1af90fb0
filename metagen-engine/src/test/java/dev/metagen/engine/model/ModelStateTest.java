package dev.metagen.engine.model;

import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fork, truncate, batched forward, context limits and load errors of {@link TransformerModel} on tiny-qwen3. */
class ModelStateTest {
    @TempDir
    static Path dir;
    static Path tiny;

    @BeforeAll
    static void synthesize() {
        tiny = dir.resolve("tiny-qwen3.gguf");
        ModelSynthesizer.builder().preset("tiny-qwen3").seed(3).build().write(tiny);
    }

    static TransformerModel load(int threads, int ctx) {
        return TransformerModel.load(tiny, new ModelOptions(threads, ctx));
    }

    @Test
    void forkedStatesContinueIndependently() {
        try (TransformerModel m = load(2, 64)) {
            ModelState a = m.newState();
            m.forward(a, 1, 10, 20, 30);
            ModelState b = a.fork();
            Logits la = m.forward(a, 40, 41);
            Logits lb = m.forward(b, 50);
            // the same sequences from scratch
            assertArrayEquals(fresh(m, 1, 10, 20, 30, 40, 41).values(), la.values(), 1e-4f);
            assertArrayEquals(fresh(m, 1, 10, 20, 30, 50).values(), lb.values(), 1e-4f);
            assertArrayEquals(new int[]{1, 10, 20, 30, 40, 41}, a.tokens());
            assertArrayEquals(new int[]{1, 10, 20, 30, 50}, b.tokens());
        }
    }

    @Test
    void batchedForwardEqualsSequentialRuns() {
        try (TransformerModel m = load(2, 64)) {
            ModelState p = m.newState();
            m.forward(p, 1, 2, 3);
            ModelState q = p.fork();
            ModelState r = m.newState();
            // uneven batch: 1 token, 2 tokens, a 40-token prefill that spans several chunks
            int[] longPrompt = new int[40];
            for (int i = 0; i < longPrompt.length; i++) {
                longPrompt[i] = (i * 37 + 11) % 512;
            }
            List<Logits> out = m.forward(List.of(p, q, r), List.of(new int[]{7}, new int[]{8, 9}, longPrompt));
            assertArrayEquals(fresh(m, 1, 2, 3, 7).values(), out.get(0).values(), 1e-4f);
            assertArrayEquals(fresh(m, 1, 2, 3, 8, 9).values(), out.get(1).values(), 1e-4f);
            assertArrayEquals(fresh(m, longPrompt).values(), out.get(2).values(), 1e-4f);
            assertEquals(40, r.length());
        }
    }

    @Test
    void threadCountDoesNotChangeLogits() {
        Logits one;
        try (TransformerModel m = load(1, 64)) {
            one = fresh(m, 1, 5, 9, 200);
        }
        try (TransformerModel m = load(3, 64)) {
            // each output row is computed by one thread in the same order, so results are bitwise equal
            assertArrayEquals(one.values(), fresh(m, 1, 5, 9, 200).values(), 0f);
        }
    }

    @Test
    void truncateThenReforwardReproducesLogits() {
        try (TransformerModel m = load(2, 64)) {
            ModelState s = m.newState();
            m.forward(s, 1, 4, 8);
            Logits first = m.forward(s, 15, 16);
            float[] hidden = m.lastHiddenState(s);
            m.forward(s, 23, 42);
            s.truncate(3);
            assertEquals(3, s.length());
            assertThrows(MetagenException.class, () -> m.lastHiddenState(s));
            Logits again = m.forward(s, 15, 16);
            assertArrayEquals(first.values(), again.values(), 0f);
            assertArrayEquals(hidden, m.lastHiddenState(s), 0f);
            assertEquals(64, hidden.length);
            assertThrows(MetagenException.class, () -> s.truncate(6));
        }
    }

    @Test
    void contextOverflowIsAClearError() {
        try (TransformerModel m = load(1, 8)) {
            ModelState s = m.newState();
            m.forward(s, 1, 2, 3, 4, 5, 6);
            MetagenException e = assertThrows(MetagenException.class, () -> m.forward(s, 7, 8, 9));
            assertTrue(e.getMessage().contains("context length 8 exceeded"), e.getMessage());
            assertEquals(6, s.length()); // a rejected forward leaves the state as it was
            m.forward(s, 7, 8);
            assertEquals(8, s.length());
        }
        MetagenException e = assertThrows(MetagenException.class, () -> load(1, 100_000));
        assertTrue(e.getMessage().contains("exceeds the model's context_length 512"), e.getMessage());
    }

    @Test
    void badForwardArgumentsAreClearErrors() {
        try (TransformerModel m = load(1, 64); TransformerModel other = load(1, 64)) {
            ModelState s = m.newState();
            assertThrows(MetagenException.class, () -> m.forward(s, 512));
            assertThrows(MetagenException.class, () -> m.forward(s, new int[0]));
            assertThrows(MetagenException.class, () -> m.forward(List.of(s, s), List.of(new int[]{1}, new int[]{2})));
            assertThrows(MetagenException.class, () -> m.forward(other.newState(), 1));
            s.close();
            assertThrows(MetagenException.class, () -> m.forward(s, 1));
        }
    }

    @Test
    void differentPromptsGiveDifferentContinuations() {
        try (TransformerModel m = load(1, 64)) {
            assertNotEquals(fresh(m, 1, 100).argmax(), fresh(m, 1, 200).argmax());
        }
    }

    @Test
    void unknownArchitectureIsAClearError() {
        Path bad = rewrite("arch.gguf", Map.of("general.architecture", GgufValue.of("gpt2")), n -> true, Map.of());
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(bad));
        assertEquals(bad + ": unsupported architecture 'gpt2' (supported: llama, qwen2, qwen3, gemma3, phi3)", e.getMessage());
    }

    @Test
    void missingTensorIsAClearError() {
        Path bad = rewrite("missing.gguf", Map.of(), n -> !n.equals("blk.1.ffn_up.weight"), Map.of());
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(bad));
        assertEquals(bad + ": missing tensor blk.1.ffn_up.weight (expected shape [64, 128], n_embd x n_ff)", e.getMessage());
    }

    @Test
    void wrongShapeIsAClearError() {
        Path bad = rewrite("shape.gguf", Map.of(), n -> true, Map.of("blk.0.attn_k_norm.weight", new long[]{16}));
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(bad));
        assertEquals(bad + ": tensor blk.0.attn_k_norm.weight has shape [16], expected [32] (head_dim)", e.getMessage());
    }

    /** A copy of the tiny model with some metadata replaced, some tensors dropped and some (1-D F32) reshaped. */
    static Path rewrite(String name, Map<String, GgufValue> meta, Predicate<String> keep, Map<String, long[]> reshape) {
        return rewrite(tiny, dir.resolve(name), meta, keep, reshape);
    }

    /** A copy of {@code src} with metadata keys set (replaced or added). */
    static Path copyWithMetadata(Path src, Path out, Map<String, GgufValue> meta) {
        return rewrite(src, out, meta, n -> true, Map.of());
    }

    static Path rewrite(Path src, Path out, Map<String, GgufValue> meta, Predicate<String> keep, Map<String, long[]> reshape) {
        try (GgufFile f = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> w.put(k, meta.getOrDefault(k, v)));
            meta.forEach((k, v) -> {
                if (!f.has(k)) {
                    w.put(k, v);
                }
            });
            for (GgufTensorInfo t : f.tensors().values()) {
                if (!keep.test(t.name())) {
                    continue;
                }
                long[] shape = reshape.getOrDefault(t.name(), t.shape());
                byte[] bytes = f.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                byte[] data = java.util.Arrays.copyOf(bytes, (int) t.type().byteSize(product(shape)));
                w.addTensor(t.name(), shape, t.type(), () -> data);
            }
            w.write(out);
        }
        return out;
    }

    private static long product(long[] s) {
        long n = 1;
        for (long d : s) {
            n *= d;
        }
        return n;
    }

    static Logits fresh(TransformerModel m, int... tokens) {
        try (ModelState s = m.newState()) {
            return m.forward(s, tokens);
        }
    }
}
