package dev.metagen.engine.model;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link TransformerModel#forwardAll}: logits at every new position equal one-token-at-a-time forwards (to float
 * rounding: a multi-row chunk takes another matmul path than a single row).
 */
class ForwardAllTest {
    @TempDir
    static Path dir;
    static Path tiny;

    @BeforeAll
    static void synthesize() {
        tiny = dir.resolve("tiny-llama.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").seed(11).build().write(tiny);
    }

    @Test
    void everyPositionEqualsSequentialForwards() {
        try (TransformerModel m = TransformerModel.load(tiny, new ModelOptions(2, 64))) {
            int[] prefix = {1, 7, 9};
            int[] fed = {12, 40, 3, 25, 8};
            ModelState a = m.newState();
            m.forward(a, prefix);
            List<Logits> all = m.forwardAll(a, fed);
            ModelState b = m.newState();
            m.forward(b, prefix);
            assertEquals(fed.length, all.size());
            for (int i = 0; i < fed.length; i++) {
                Logits one = m.forward(b, fed[i]);
                assertArrayEquals(one.values(), all.get(i).values(), 1e-4f, "position " + i);
            }
            assertArrayEquals(b.tokens(), a.tokens());
            // after a rollback the state continues as if the rejected tokens were never fed
            a.truncate(prefix.length + 2);
            Logits after = m.forward(a, 30);
            ModelState c = m.newState();
            assertArrayEquals(m.forward(c, 1, 7, 9, 12, 40, 30).values(), after.values(), 1e-4f);
        }
    }

    /**
     * On Q8_0 and Q4_0 weights, up to {@code multiPositions} positions run the type's multi-vector kernel, whose
     * outputs equal the single-position decode step's bit for bit: verifying drafted tokens sees exactly the logits
     * that decoding them one by one would. Past that the GEMM takes over, and the logits agree to rounding only.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void verificationOfDraftedTokensEqualsDecodingBitForBit(String type) {
        Path file = dir.resolve("tiny-llama-" + type + ".gguf");
        ModelSynthesizer.builder().preset("tiny-llama").type(type).embd(256).ffn(512).seed(5).build().write(file);
        try (TransformerModel m = TransformerModel.load(file, new ModelOptions(2, 64))) {
            int[] prefix = {1, 7, 9};
            // 9 positions: a pending token and 8 drafted ones
            assertForwardAllEqualsSequential(m, prefix, new int[] {12, 40, 3, 25, 8, 17, 2, 33, 21}, 0f);
            int[] more = new int[20]; // past the multi-vector kernel: the GEMM, equal to rounding
            java.util.Arrays.setAll(more, i -> 5 + 3 * i);
            assertForwardAllEqualsSequential(m, prefix, more, 1e-3f);
        }
    }

    /** forwardAll of {@code fed} after {@code prefix} against one forward per token, each logit within {@code tol}. */
    private static void assertForwardAllEqualsSequential(TransformerModel m, int[] prefix, int[] fed, float tol) {
        try (ModelState a = m.newState(); ModelState b = m.newState()) {
            m.forward(a, prefix);
            List<Logits> all = m.forwardAll(a, fed);
            m.forward(b, prefix);
            for (int i = 0; i < fed.length; i++) {
                assertArrayEquals(m.forward(b, fed[i]).values(), all.get(i).values(), tol,
                        fed.length + " positions, position " + i);
            }
        }
    }

    @Test
    void engineOverrideEqualsTheInterfaceDefault() {
        try (TransformerModel m = TransformerModel.load(tiny, new ModelOptions(1, 64))) {
            // the SPI default, which runs one forward per token, on the same model
            LanguageModel viaDefault = new LanguageModel() {
                public dev.metagen.core.Tokenizer tokenizer() { return m.tokenizer(); }
                public dev.metagen.core.ModelInfo info() { return m.info(); }
                public ModelState newState() { return m.newState(); }
                public List<Logits> forward(List<ModelState> s, List<int[]> t) { return m.forward(s, t); }
                public void close() { }
            };
            ModelState a = m.newState();
            ModelState b = m.newState();
            List<Logits> fast = m.forwardAll(a, 1, 5, 6, 7);
            List<Logits> slow = viaDefault.forwardAll(b, 1, 5, 6, 7);
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(slow.get(i).values(), fast.get(i).values(), 1e-4f);
            }
        }
    }

    @Test
    void rejectsBadInput() {
        try (TransformerModel m = TransformerModel.load(tiny, new ModelOptions(1, 8))) {
            ModelState s = m.newState();
            assertThrows(MetagenException.class, () -> m.forwardAll(s));
            assertThrows(MetagenException.class, () -> m.forwardAll(s, 1, 2, 3, 4, 5, 6, 7, 8, 9));
            assertThrows(MetagenException.class, () -> m.forwardAll(s, -1));
        }
    }
}
