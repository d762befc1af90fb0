package dev.metagen.core;

import dev.metagen.core.testing.JavadocExamples;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The usage examples of core's Javadoc, with the same code, so an example that drifts from the API breaks the build.
 * The examples that need a real model (LanguageModel, ModelState, Tokenizer) run in decoding's JavadocExamplesTest.
 */
class JavadocExamplesTest {
    /** Answers with the prompt's last word and records the parameters it got. */
    static final class LastWord implements Generator {
        GenerationParams seen;

        @Override
        public Generation generate(Prompt prompt, GenerationParams params) {
            seen = params;
            String[] words = prompt.text().strip().split("\\s+");
            return new Generation(words[words.length - 1], new int[] {7, 8}, new double[] {-0.5, -0.25},
                    FinishReason.STOP, new Cost(3, 2, 2, 0, Duration.ZERO), Map.of());
        }
    }

    @Test
    void examplesAreTheJavadocs() {
        assertEquals(8, JavadocExamples.check(JavadocExamplesTest.class));
    }

    @Test
    void generationParams() {
        LastWord generator = new LastWord();
        // example: dev.metagen.core.GenerationParams
        GenerationParams params = GenerationParams.of(64, new SamplingConfig().temperature(0.7).topP(0.9))
                .withSeed(42)
                .withStop(List.of("\n\n"));
        Generation g = generator.generate(Prompt.of("Once upon a time"), params);
        // end
        assertEquals("time", g.text());
        assertEquals(64, generator.seen.maxTokens());
        assertEquals(42, generator.seen.seed());
        assertEquals(42, generator.seen.sampling().seed());
        assertEquals(0.7, generator.seen.temperature());
        assertEquals(0.9, generator.seen.topP());
        assertEquals(List.of("\n\n"), generator.seen.stop());
    }

    @Test
    void samplingConfig() {
        // example: dev.metagen.core.SamplingConfig
        SamplingConfig sampling = new SamplingConfig()
                .temperature(0.8)
                .topK(40)
                .minP(0.05)
                .penalties(1.1, 0, 0, 64);    // repeat penalty 1.1 over the last 64 tokens
        GenerationParams params = GenerationParams.of(128, sampling);
        // end
        assertEquals(40, params.topK());
        assertEquals(0.05, params.sampling().minP());
        assertEquals(1.1, params.sampling().repeatPenalty());
        assertEquals(64, params.sampling().repeatLastN());
        assertEquals(128, params.maxTokens());
    }

    @Test
    void generator() {
        // example: dev.metagen.core.Generator
        Generator echo = (prompt, params) -> new Generation(prompt.text(), new int[0], new double[0],
                FinishReason.STOP, Cost.ZERO, Map.of());
        Generation g = echo.generate(Prompt.of("hello"), GenerationParams.greedy(16));
        // end
        assertEquals("hello", g.text());
        assertEquals(16, echo.maxModelCalls(Prompt.of("hello"), GenerationParams.greedy(16)));
    }

    @Test
    void prompt() {
        LastWord generator = new LastWord();
        // example: dev.metagen.core.Prompt
        Generation g = generator.generate(Prompt.of("Q: What is 2 + 2?\nA:"), GenerationParams.greedy(8));
        // end
        assertEquals("A:", g.text());
    }

    @Test
    void generation() {
        LastWord generator = new LastWord();
        // example: dev.metagen.core.Generation
        Generation g = generator.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(32));
        String text = g.text();
        double logprob = g.sumLogprob();                // the output's log-probability under the model
        long tokens = g.cost().generatedTokens();
        boolean complete = g.finish() == FinishReason.STOP;
        // end
        assertEquals("time", text);
        assertEquals(-0.75, logprob);
        assertEquals(2, tokens);
        assertTrue(complete);
    }

    @Test
    void cost() {
        LastWord generator = new LastWord();
        Generation first = generator.generate(Prompt.of("a"), GenerationParams.greedy(4));
        Generation second = generator.generate(Prompt.of("b"), GenerationParams.greedy(4));
        // example: dev.metagen.core.Cost
        Cost total = Cost.ZERO.plus(first.cost()).plus(second.cost());
        long tokens = total.totalTokens();              // prompt and generated tokens of both calls
        // end
        assertEquals(10, tokens);
        assertEquals(4, total.modelCalls());
    }

    @Test
    void scorer() {
        Generation candidate = new Generation("hi!", new int[0], new double[0], FinishReason.STOP, Cost.ZERO, Map.of());
        // example: dev.metagen.core.Scorer
        Scorer shorter = (prompt, c) -> -c.text().length();
        double score = shorter.score(Prompt.of("Say hi"), candidate);
        // end
        assertEquals(-3, score);
    }

    @Test
    void generationFields() {
        // example: dev.metagen.core.GenerationFields
        GenerationParams p = GenerationFields.apply(GenerationParams.greedy(256),
                Map.of("temperature", 0.7, "top_p", 0.9, "max_tokens", 64), "$");
        // p.temperature() == 0.7, p.maxTokens() == 64; an unknown field fails, naming "$.<field>"
        // end
        assertEquals(0.7, p.temperature());
        assertEquals(0.9, p.topP());
        assertEquals(64, p.maxTokens());
        MetagenException e = assertThrows(MetagenException.class,
                () -> GenerationFields.apply(GenerationParams.greedy(256), Map.of("temprature", 0.7), "$"));
        assertTrue(e.getMessage().contains("$.temprature"), e.getMessage());
    }
}
