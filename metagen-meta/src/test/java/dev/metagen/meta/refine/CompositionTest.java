package dev.metagen.meta.refine;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.cascade.Cascade;
import dev.metagen.meta.chain.Chain;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.ContainsWordsVerifier;
import dev.metagen.meta.tools.Calculator;
import dev.metagen.meta.tools.CodeTestVerifier;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.SandboxRequired;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import com.google.re2j.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Refinement, self-refinement, chains and cascades with scripted generators whose every answer is known. */
class CompositionTest {
    static final GenerationParams P = new GenerationParams(32, 0, 0, 1.0, 0, true, List.of());

    /** Answers with the i-th scripted text on its i-th call (one generated token and one model call each). */
    static Generator script(String... answers) {
        int[] next = {0};
        return (prompt, params) -> {
            String t = answers[Math.min(next[0]++, answers.length - 1)];
            return new Generation(t, new int[]{1}, new double[]{-0.5}, FinishReason.STOP, new Cost(2, 1, 1, 0, Duration.ZERO), Map.of());
        };
    }

    @Test
    void refineFeedsSandboxFailuresBackAndTheStrategyContinues() throws Exception {
        SandboxRequired.check();
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Generator g = script(
                    "```python\ndef add(a, b):\n    while True:\n        pass\n```",
                    "```python\ndef add(a, b):\n    while True:\n        print('spam' * 100)\n```",
                    "```python\nimport socket\nsocket.create_connection(('127.0.0.1', " + server.getLocalPort() + "), timeout=1)\ndef add(a, b):\n    return a + b\n```",
                    "```python\ndef add(a, b):\n    return a - b\n```",
                    "```python\ndef add(a, b):\n    return a + b\n```");
            var verifier = new CodeTestVerifier(Sandbox.python(new Sandbox.Limits(Duration.ofMillis(3000), 256L << 20, 5, 2048)),
                    "assert add(2, 3) == 5", false);
            Generation r = new Refine(g, verifier, 6, Refine.DEFAULT_TEMPLATE).generate(Prompt.of("Write add.\n"), P);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> rounds = (List<Map<String, Object>>) r.trace().get("rounds");
            assertEquals(5, rounds.size(), rounds.toString());
            assertEquals("stopped: ran longer than 3000 ms", rounds.get(0).get("feedback"));
            assertEquals("stopped: printed more than 2048 bytes", rounds.get(1).get("feedback"));
            // the sandbox has a loopback of its own, where nothing listens
            assertTrue(((String) rounds.get(2).get("feedback")).contains("ConnectionRefusedError"), (String) rounds.get(2).get("feedback"));
            assertTrue(((String) rounds.get(3).get("feedback")).contains("AssertionError"), (String) rounds.get(3).get("feedback"));
            assertEquals(true, r.trace().get("accepted"));
            assertTrue(r.text().contains("return a + b"));
            assertEquals(5, r.cost().toolCalls());
            assertEquals(5, r.cost().modelCalls());
        }
    }

    @Test
    void refineStopsAfterMaxRounds() {
        Generation r = new Refine(script("a cat"), new ContainsWordsVerifier(List.of("dog")), 2, Refine.DEFAULT_TEMPLATE)
                .generate(Prompt.of("Q"), P);
        assertEquals(false, r.trace().get("accepted"));
        assertEquals(3, r.cost().modelCalls());
        assertEquals(FinishReason.STOP, r.finish());
    }

    @Test
    void selfRefineStopsWhenTheFeedbackSaysSo() {
        Generator inner = script("draft", "better");
        Generator critic = script("too short", "No issues.");
        Generation r = new SelfRefine(inner, critic, 5, SelfRefine.FEEDBACK_TEMPLATE, SelfRefine.REFINE_TEMPLATE,
                Pattern.compile("(?i)no issues"), P).generate(Prompt.of("Q"), P);
        assertEquals("better", r.text());
        assertEquals("feedback", r.trace().get("stopped_by"));
        assertEquals(1, r.trace().get("revisions"));
        assertEquals(4, r.cost().modelCalls());
    }

    @Test
    void chainComposesTemplatesGeneratorsParsersAndTools() {
        List<String> prompts = new java.util.ArrayList<>();
        Generator g = (prompt, params) -> {
            prompts.add(prompt.text());
            return script("So the total is 21 apples.").generate(prompt, params);
        };
        Chain chain = new Chain(List.of(
                new Chain.Template("question", "Question: {prompt}"),
                new Chain.Generate("reasoning", g, "{question}\nThink:"),
                new Chain.Parse("number", "reasoning", AnswerExtractors.lastNumber(), "0"),
                new Chain.CallTool("output", new Calculator(), "{number} * 2"),
                new Chain.CallTool("broken", new Calculator(), "{number} / 0")), "output");
        Generation r = chain.generate(Prompt.of("apples?"), P);
        assertEquals("42", r.text());
        assertEquals(List.of("Question: apples?\nThink:"), prompts);
        assertEquals(2, r.cost().toolCalls());
        assertEquals(1, r.cost().modelCalls());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> steps = (List<Map<String, Object>>) r.trace().get("steps");
        assertEquals("error: division by zero", steps.get(4).get("value"));
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.metagen.core.MetagenException.class,
                () -> new Chain(List.of(new Chain.Template("a", "{b}")), "a"));
        assertEquals("chain: link 0 uses {b} before it is defined (defined: [prompt])", e.getMessage());
    }

    @Test
    void cascadeEscalatesWhenTheVerifierRejects() {
        Cascade c = new Cascade(List.of(
                new Cascade.Stage(script("a cat"), new ContainsWordsVerifier(List.of("dog")), Double.NEGATIVE_INFINITY),
                new Cascade.Stage(script("a dog"), new ContainsWordsVerifier(List.of("dog")), Double.NEGATIVE_INFINITY)));
        Generation r = c.generate(Prompt.of("Q"), P);
        assertEquals("a dog", r.text());
        assertEquals(1, r.trace().get("chosen_stage"));
        assertEquals(2, r.cost().modelCalls());
        // the first stage is kept when it passes; a confidence floor above its mean log-probability escalates
        assertEquals(0, new Cascade(List.of(new Cascade.Stage(script("x"), null, -1), new Cascade.Stage(script("y"), null, -1)))
                .generate(Prompt.of("Q"), P).trace().get("chosen_stage"));
        assertEquals(1, new Cascade(List.of(new Cascade.Stage(script("x"), null, -0.1), new Cascade.Stage(script("y"), null, -1)))
                .generate(Prompt.of("Q"), P).trace().get("chosen_stage"));
    }
}
