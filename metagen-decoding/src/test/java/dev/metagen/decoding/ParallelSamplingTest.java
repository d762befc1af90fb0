package dev.metagen.decoding;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.ForwardCounter;
import dev.metagen.decoding.testing.TestModels;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SamplingGenerator#generateN}: n samples of one prompt from forks of one prefilled state, one batched
 * forward per step, each sample equal to a lone generation with its seed, on the real stories260K model.
 */
@Tag("model")
class ParallelSamplingTest {
    static LanguageModel model;

    @BeforeAll
    static void load() {
        model = TestModels.stories260k();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void samplesEqualLoneGenerationsAndThePromptIsComputedOnce() {
        // the rows and batched calls the loop asks of the model, counted the same way on both backends
        ForwardCounter counted = new ForwardCounter(model);
        SamplingGenerator gen = new SamplingGenerator(counted);
        GenerationParams params = new GenerationParams(24, 0.9, 0, 1.0, 100, true, List.of());
        int[] prompt = model.tokenizer().encode("Once upon a time, there was a little girl named Lily. She", true, false);
        List<Generation> all = gen.generateN(prompt, params, 6);
        long rows = counted.rows.get();
        long passes = counted.calls.get();
        assertEquals(6, all.size());
        long generated = 0;
        int longest = 0;
        for (Generation g : all) {
            generated += g.tokens().length;
            longest = Math.max(longest, g.tokens().length);
        }
        // the prompt once, then every generated token but each sample's last (never fed back)
        assertEquals(prompt.length + generated - all.stream().filter(g -> g.tokens().length == 24).count(), rows);
        assertTrue(passes <= longest, "one batched pass per step: " + passes + " passes for " + longest + " steps");
        for (int i = 0; i < all.size(); i++) {
            Generation lone = gen.generate(prompt, params.withSampling(0.9, 0, 1.0, 100 + i), t -> {});
            assertArrayEquals(lone.tokens(), all.get(i).tokens(), "sample " + i);
            assertEquals(lone.text(), all.get(i).text());
            assertEquals(lone.finish(), all.get(i).finish());
        }
        assertTrue(all.stream().map(Generation::text).distinct().count() > 1, "samples differ");
    }

    /** The engine computes what the loop asks of it: the prompt's rows once (its prefix cache emptied first). */
    @Test
    @Tag("engine-only")
    void theEngineComputesThePromptOnceForAllSamples() {
        try (TransformerModel engine = TransformerModel.load(TestModels.stories260kPath(), new ModelOptions(1, 512))) {
            GenerationParams params = new GenerationParams(24, 0.9, 0, 1.0, 100, true, List.of());
            int[] prompt = engine.tokenizer().encode("Once upon a time, there was a little girl named Lily. She", true, false);
            long rows0 = engine.rowsComputed();
            List<Generation> all = new SamplingGenerator(engine).generateN(prompt, params, 6);
            long rows = engine.rowsComputed() - rows0;
            long generated = all.stream().mapToLong(g -> g.tokens().length).sum();
            assertEquals(prompt.length + generated - all.stream().filter(g -> g.tokens().length == 24).count(), rows);
        }
    }

    @Test
    void greedySamplesAreIdenticalAndBadCountsAreClearErrors() {
        SamplingGenerator gen = new SamplingGenerator(model);
        GenerationParams greedy = new GenerationParams(16, 0.0, 0, 1.0, 1, true, List.of());
        List<Generation> all = gen.generateN(Prompt.of("Once upon a time"), greedy, 3);
        Generation lone = gen.generate(Prompt.of("Once upon a time"), greedy);
        for (Generation g : all) {
            assertArrayEquals(lone.tokens(), g.tokens());
        }
        assertThrows(MetagenException.class, () -> gen.generateN(Prompt.of("x"), greedy, 0));
        assertThrows(MetagenException.class, () -> gen.generateN(new int[0], greedy, 2));
    }
}
