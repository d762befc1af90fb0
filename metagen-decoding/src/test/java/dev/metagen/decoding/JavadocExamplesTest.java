package dev.metagen.decoding;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Guidance;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.core.StreamingDecoder;
import dev.metagen.core.Tokenizer;
import dev.metagen.core.testing.JavadocExamples;
import dev.metagen.decoding.beam.BeamGenerator;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.guidance.ClassifierFreeGuidance;
import dev.metagen.decoding.guidance.ContrastiveDecoding;
import dev.metagen.decoding.guidance.ProductOfExperts;
import dev.metagen.decoding.sampling.LogitBiasSampler;
import dev.metagen.decoding.sampling.SamplerChain;
import dev.metagen.decoding.speculative.PromptLookupSource;
import dev.metagen.decoding.speculative.SpeculativeGenerator;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The usage examples of decoding's Javadoc (and of core's model types), run on stories260K with the same code, so an
 * example that drifts from the API breaks the build.
 */
@Tag("model")
class JavadocExamplesTest {
    static LanguageModel model;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] greedyTokens(int n) {
        return new SamplingGenerator(model).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(n)).tokens();
    }

    @Test
    void examplesAreTheJavadocs() {
        assertEquals(13, JavadocExamples.check(JavadocExamplesTest.class));
    }

    @Test
    void languageModel() {
        String text = null;
        // example: dev.metagen.core.LanguageModel
        Tokenizer tok = model.tokenizer();
        try (ModelState state = model.newState()) {
            Logits next = model.forward(state, tok.encode("Once upon a time", true));
            int token = next.argmax();                  // the greedy choice
            String piece = tok.decode(new int[] {token});
            // end
            assertEquals(greedyTokens(1)[0], token);
            text = piece;
        }
        assertFalse(text.isEmpty());
    }

    @Test
    void modelState() {
        // example: dev.metagen.core.ModelState
        int[] prompt = model.tokenizer().encode("Once upon a time", true);
        try (ModelState state = model.newState()) {
            int next = model.forward(state, prompt).argmax();
            try (ModelState branch = state.fork()) {   // shares the prompt's cache
                model.forward(branch, next);            // the branch goes on; the state does not
            }
            state.truncate(1);                          // back to the first token
            // end
            assertEquals(1, state.length());
            assertArrayEquals(new int[] {prompt[0]}, state.tokens());
        }
    }

    @Test
    void tokenizer() {
        Tokenizer tok = model.tokenizer();
        // example: dev.metagen.core.Tokenizer
        int[] ids = tok.encode("Hello world", true);   // BOS added as the model asks
        String text = tok.decode(ids);
        StreamingDecoder stream = tok.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(stream.accept(id));              // only complete UTF-8 characters
        }
        out.append(stream.flush());
        // end
        assertEquals(tok.special().bos(), ids[0]);
        assertEquals(text, out.toString());
        assertTrue(text.contains("Hello world"), text);
    }

    @Test
    void samplingGenerator() {
        // example: dev.metagen.decoding.SamplingGenerator
        SamplingGenerator generator = new SamplingGenerator(model);
        Generation g = generator.generate(Prompt.of("Once upon a time"),
                GenerationParams.of(32, new SamplingConfig().temperature(0.8).minP(0.05)).withSeed(7));
        // four samples of one prompt, computed once and decoded in one batch
        List<Generation> samples = generator.generateN(Prompt.of("Once upon a time"), GenerationParams.greedy(16), 4);
        // end
        Generation again = generator.generate(Prompt.of("Once upon a time"),
                GenerationParams.of(32, new SamplingConfig().temperature(0.8).minP(0.05)).withSeed(7));
        assertArrayEquals(again.tokens(), g.tokens(), "one seed, one output");
        assertEquals(4, samples.size());
        for (Generation s : samples) {
            assertArrayEquals(greedyTokens(16), s.tokens());
        }
    }

    @Test
    void samplerChain() {
        // example: dev.metagen.decoding.sampling.SamplerChain
        Tokenizer tok = model.tokenizer();
        SamplerChain chain = SamplerChain.build(new SamplingConfig().topK(40).temperature(0.8).seed(7), tok);
        try (ModelState state = model.newState()) {
            Logits logits = model.forward(state, tok.encode("Once upon a time", true));
            int next = chain.sample(logits.values());   // one of the 40 most likely tokens
            // end
            float[] sorted = logits.values().clone();
            Arrays.sort(sorted);
            assertTrue(logits.values()[next] >= sorted[sorted.length - 40], "token " + next + " is in the top 40");
        }
    }

    @Test
    void logitsProcessors() {
        // example: dev.metagen.decoding.LogitsProcessors
        int banned = model.tokenizer().encode(" the", false)[0];
        SamplingGenerator noThe = new SamplingGenerator(model).withProcessors((params, promptIds) ->
                new LogitsProcessors(List.of(new LogitBiasSampler(Map.of(banned, Float.NEGATIVE_INFINITY))), null, null));
        Generation g = noThe.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(32));
        // end
        assertTrue(Arrays.stream(greedyTokens(32)).anyMatch(t -> t == banned), "plain greedy uses the banned token");
        assertTrue(Arrays.stream(g.tokens()).noneMatch(t -> t == banned), Arrays.toString(g.tokens()));
        assertEquals(32, g.tokens().length);
    }

    @Test
    void beamSearch() {
        // example: dev.metagen.decoding.beam.BeamSearch
        Generator beams = BeamGenerator.of(model, new BeamSearch(model, BeamSearch.Settings.of(4)));
        Generation best = beams.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
        // end
        assertTrue(best.tokens().length > 0);
        assertTrue(best.cost().modelCalls() <= beams.maxModelCalls(Prompt.of("Once upon a time"), GenerationParams.greedy(24)));
        // the best of 4 beams is at least as likely as the greedy path (length penalty 1 ranks by mean logprob)
        Generation greedy = new SamplingGenerator(model).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
        assertTrue(best.sumLogprob() / best.tokens().length >= greedy.sumLogprob() / greedy.tokens().length - 1e-6);
    }

    @Test
    void contrastiveSearch() {
        // example: dev.metagen.decoding.ContrastiveSearch
        Generator contrastive = new ContrastiveSearch(model, 4, 0.6);   // top 4, degeneration penalty 0.6
        Generation g = contrastive.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(32));
        // end
        assertTrue(g.tokens().length > 0);
        assertArrayEquals(greedyTokens(8),
                new ContrastiveSearch(model, 4, 0).generate(Prompt.of("Once upon a time"), GenerationParams.greedy(8)).tokens(),
                "no degeneration penalty is greedy");
    }

    @Test
    void speculativeGenerator() {
        // example: dev.metagen.decoding.speculative.SpeculativeGenerator
        Generator fast = new SpeculativeGenerator(model, () -> new PromptLookupSource(3), 4);
        Generation g = fast.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(48));
        // the same tokens as plain greedy decoding, in fewer forwards of the model when drafts are accepted
        // end
        assertArrayEquals(greedyTokens(48), g.tokens());
    }

    /** The tokens of classifier-free guidance at scale 1.5 against BOS alone, from the adapter. */
    static Generation guidedByAdapter() {
        // example: dev.metagen.decoding.guidance.ClassifierFreeGuidance
        int[] unconditional = {model.tokenizer().special().bos()};
        SamplingGenerator guided = new SamplingGenerator(model).withProcessors((params, promptIds) -> {
            ClassifierFreeGuidance cfg = new ClassifierFreeGuidance(model, unconditional, 1.5);
            return new LogitsProcessors(List.of(cfg), null, cfg);   // a fresh adapter per generation, closed after it
        });
        Generation g = guided.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
        // end
        return g;
    }

    @Test
    void classifierFreeGuidance() {
        Generation g = guidedByAdapter();
        assertEquals(24, g.tokens().length);
        assertTrue(g.cost().modelCalls() > 24, "the unconditional context's forwards are counted: " + g.cost());
    }

    @Test
    void guidanceProcessors() {
        Map<String, LanguageModel> registry = Map.of();
        // example: dev.metagen.decoding.GuidanceProcessors
        Generator generator = new SamplingGenerator(model).withProcessors(new GuidanceProcessors(model, registry::get));
        GenerationParams params = GenerationParams.greedy(24).withGuidance(Guidance.NONE.withCfg(1.5, ""));
        Generation g = generator.generate(Prompt.of("Once upon a time"), params);
        // end
        assertArrayEquals(guidedByAdapter().tokens(), g.tokens(), "the adapter and the guidance field agree");
    }

    @Test
    void contrastiveDecoding() {
        LanguageModel expert = model;
        LanguageModel amateur = model;
        // example: dev.metagen.decoding.guidance.ContrastiveDecoding
        SamplingGenerator contrastive = new SamplingGenerator(expert).withProcessors((params, promptIds) -> {
            ContrastiveDecoding cd = new ContrastiveDecoding(amateur, 0.1);
            return new LogitsProcessors(List.of(cd), null, cd);
        });
        Generation g = contrastive.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
        // end
        assertEquals(24, g.tokens().length);
        assertTrue(g.cost().modelCalls() > 24, "the amateur's forwards are counted: " + g.cost());
    }

    @Test
    void productOfExperts() {
        LanguageModel antiExpert = model;
        // example: dev.metagen.decoding.guidance.ProductOfExperts
        SamplingGenerator steered = new SamplingGenerator(model).withProcessors((params, promptIds) -> {
            ProductOfExperts poe = new ProductOfExperts(1.0, List.of(antiExpert), List.of(-0.5));
            return new LogitsProcessors(List.of(poe), null, poe);
        });
        Generation g = steered.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(24));
        // end
        // the model against itself at weight -0.5 is the model at temperature 2: the same argmax as plain greedy
        assertArrayEquals(greedyTokens(24), g.tokens());
    }
}
