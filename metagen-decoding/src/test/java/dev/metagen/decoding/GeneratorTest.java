package dev.metagen.decoding;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Tokenizer;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.testing.ScriptedModel;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import dev.metagen.llamacpp.testing.TestBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The sampling generator's stopping rules on scripted logits, and seed reproducibility across thread counts. */
@Tag("model")
class GeneratorTest {
    static LanguageModel stories;
    static Tokenizer tok;

    @BeforeAll
    static void open() {
        stories = TestModels.stories260k();
        tok = stories.tokenizer();
    }

    @AfterAll
    static void close() {
        stories.close();
    }

    /** Byte-fallback id of a byte in the stories260K vocabulary ({@code <0x00>} is id 3). */
    static int byteToken(int b) {
        return 3 + (b & 0xFF);
    }

    @Test
    void minTokensSuppressesEndOfGenerationUntilReached() {
        int eos = tok.special().eos();
        // EOS is always the most likely token, token 300 the second
        ScriptedModel m = new ScriptedModel(tok, t -> ScriptedModel.ranked(tok.vocabSize(), eos, 300));
        Generation plain = new SamplingGenerator(m).generate(new int[] {1}, (GenerationParams.greedy(10)).withSampling(SamplingConfig.greedy()), x -> {});
        assertEquals(0, plain.tokens().length);
        assertEquals(FinishReason.STOP, plain.finish());
        Generation min3 = new SamplingGenerator(m)
                .generate(new int[] {1}, (GenerationParams.greedy(10)).withSampling(SamplingConfig.greedy().minTokens(3)).withSeed((SamplingConfig.greedy().minTokens(3)).seed()), x -> {});
        assertArrayEquals(new int[] {300, 300, 300}, min3.tokens());
        assertEquals(FinishReason.STOP, min3.finish());
    }

    @Test
    void stopTokensEndGenerationAndAreNotEmitted() {
        int[] script = {300, 301, 302, 303};
        ScriptedModel m = new ScriptedModel(tok, t -> ScriptedModel.ranked(tok.vocabSize(), script[Math.min(t.length - 1, 3)]));
        Generation g = new SamplingGenerator(m)
                .generate(new int[] {1}, (GenerationParams.greedy(10)).withSampling(SamplingConfig.greedy().stopTokens(Set.of(302))).withSeed((SamplingConfig.greedy().stopTokens(Set.of(302))).seed()), x -> {});
        assertArrayEquals(new int[] {300, 301}, g.tokens());
        assertEquals(FinishReason.STOP, g.finish());
    }

    @Test
    void stopStringsMatchAcrossByteTokensWithoutCuttingACharacter() {
        // "café!" where "é" (C3 A9) arrives as two byte-fallback tokens, then "!"
        byte[] bytes = "caf\u00e9!".getBytes(StandardCharsets.UTF_8);
        int[] script = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            script[i] = byteToken(bytes[i]);
        }
        ScriptedModel m = new ScriptedModel(tok, t -> ScriptedModel.ranked(tok.vocabSize(), script[Math.min(t.length - 1, script.length - 1)]));
        StringBuilder streamed = new StringBuilder();
        Generation g = new SamplingGenerator(m)
                .generate(new int[] {1}, (GenerationParams.greedy(20).withStop(List.of("\u00e9!"))).withSampling(SamplingConfig.greedy()), streamed::append);
        assertEquals("caf", g.text());
        assertEquals("caf", streamed.toString());
        assertEquals(FinishReason.STOP, g.finish());
        assertEquals(bytes.length, g.tokens().length);
        // a stop string that only matches a prefix of "é"'s bytes never fires on half a character
        Generation h = new SamplingGenerator(m)
                .generate(new int[] {1}, (GenerationParams.greedy(bytes.length).withStop(List.of("\u00e8"))).withSampling(SamplingConfig.greedy()), x -> {});
        assertEquals("caf\u00e9!", h.text());
        assertFalse(h.text().contains("\ufffd"));
    }

    @Test
    void sameSeedSameTokensOnOneAndTwoThreads() {
        SamplingConfig c = new SamplingConfig().temperature(1.0).topK(50).minP(0.02).seed(77);
        int[] prompt = tok.encode("Once upon a time", true);
        Generation one = new SamplingGenerator(stories).generate(prompt, (GenerationParams.greedy(40)).withSampling(c).withSeed((c).seed()), x -> {});
        try (LanguageModel two = TestBackend.load(TestModels.stories260kPath(), 2, 512)) {
            Generation other = new SamplingGenerator(two)
                    .generate(prompt, (GenerationParams.greedy(40)).withSampling(new SamplingConfig().temperature(1.0).topK(50).minP(0.02).seed(77)).withSeed((new SamplingConfig().temperature(1.0).topK(50).minP(0.02).seed(77)).seed()), x -> {});
            assertArrayEquals(one.tokens(), other.tokens());
        }
        Generation different = new SamplingGenerator(stories)
                .generate(prompt, (GenerationParams.greedy(40)).withSampling(new SamplingConfig().temperature(1.0).topK(50).minP(0.02).seed(78)).withSeed((new SamplingConfig().temperature(1.0).topK(50).minP(0.02).seed(78)).seed()), x -> {});
        assertFalse(java.util.Arrays.equals(one.tokens(), different.tokens()), "another seed should give another sample");
    }

    @Test
    void anInterruptedThreadEndsTheGenerationAtTheNextTokenAsCancelled() {
        dev.metagen.core.Generation[] out = new dev.metagen.core.Generation[1];
        boolean[] flagKept = new boolean[1];
        Thread t = Thread.ofPlatform().start(() -> {
            Thread.currentThread().interrupt();
            out[0] = new SamplingGenerator(stories).generate(dev.metagen.core.Prompt.of("Once upon a time"),
                    dev.metagen.core.GenerationParams.greedy(200));
            flagKept[0] = Thread.currentThread().isInterrupted();
        });
        assertDoesNotThrow(() -> t.join());
        assertEquals(dev.metagen.core.FinishReason.CANCELLED, out[0].finish());
        assertEquals(1, out[0].tokens().length, "the first token is sampled from the prefill, then it stops");
        assertTrue(flagKept[0], "the interrupt stays visible to the caller");
    }
}
