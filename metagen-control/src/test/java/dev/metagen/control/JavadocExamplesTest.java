package dev.metagen.control;

import dev.metagen.control.grammar.CompiledGrammar;
import dev.metagen.control.grammar.GbnfParser;
import dev.metagen.control.grammar.GrammarAutomaton;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.control.sequence.FudgeSampler;
import dev.metagen.control.sequence.PartialScorer;
import dev.metagen.control.sequence.Potential;
import dev.metagen.control.sequence.SmcGenerator;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.core.Tokenizer;
import dev.metagen.core.testing.JavadocExamples;
import dev.metagen.decoding.LogitsProcessors;
import dev.metagen.decoding.SamplingGenerator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The usage examples of control's Javadoc, run on stories260K with the same code (see {@link JavadocExamples}). */
@Tag("model")
class JavadocExamplesTest {
    static final LanguageModel model = Models.stories();

    @Test
    void examplesAreTheJavadocs() {
        assertEquals(8, JavadocExamples.check(JavadocExamplesTest.class));
    }

    @Test
    void constraints() {
        // example: dev.metagen.control.Constraints
        Tokenizer tok = model.tokenizer();
        Generator digits = new ConstrainedGenerator(model, Constraints.regex("[0-9]{3}", tok));
        Generation g = digits.generate(Prompt.of("Lily counted to"), GenerationParams.greedy(8));   // three digits
        // end
        assertTrue(g.text().matches("[0-9]{3}"), g.text());
        assertEquals(FinishReason.STOP, g.finish());
    }

    @Test
    void constrainedGenerator() {
        // example: dev.metagen.control.ConstrainedGenerator
        GrammarConstraint yesNo = Constraints.choice(List.of("yes", "no"), model.tokenizer());
        Generator answer = new ConstrainedGenerator(model, yesNo);
        Generation g = answer.generate(Prompt.of("Is the sky blue? Answer:"), GenerationParams.greedy(4));
        // g.text() is "yes" or "no"
        // end
        assertTrue(g.text().equals("yes") || g.text().equals("no"), g.text());
    }

    @Test
    void jsonSchemaCompiler() {
        // example: dev.metagen.control.json.JsonSchemaCompiler
        JsonSchemaCompiler.Result r = JsonSchemaCompiler.compile("""
                {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}""", false);
        GrammarAutomaton automaton = GrammarAutomaton.of(r.grammar());
        int state = automaton.walk(automaton.start(), "{\"name\":\"Lily\"}".getBytes(StandardCharsets.UTF_8));
        boolean valid = state != GrammarAutomaton.DEAD && automaton.accepts(state);   // compact JSON: true
        // as a decoding constraint: Constraints.jsonSchema(schemaJson, false, model.tokenizer())
        // end
        assertTrue(valid);
        assertTrue(r.dropped().isEmpty());
        int missing = automaton.walk(automaton.start(), "{}".getBytes(StandardCharsets.UTF_8));
        assertFalse(missing != GrammarAutomaton.DEAD && automaton.accepts(missing), "name is required");
    }

    @Test
    void grammarAutomaton() {
        // example: dev.metagen.control.grammar.GrammarAutomaton
        CompiledGrammar compiled = CompiledGrammar.compile(GbnfParser.parse("root ::= \"a\" [0-9]+"));
        GrammarAutomaton automaton = new GrammarAutomaton(compiled);
        int state = automaton.walk(automaton.start(), "a42".getBytes(StandardCharsets.UTF_8));
        boolean complete = automaton.accepts(state);                    // true
        boolean more = automaton.canContinue(state);                    // true: more digits may follow
        int dead = automaton.step(automaton.start(), 'b');             // GrammarAutomaton.DEAD
        // end
        assertTrue(complete);
        assertTrue(more);
        assertEquals(GrammarAutomaton.DEAD, dead);
        assertFalse(automaton.accepts(automaton.walk(automaton.start(), "a".getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void compiledGrammar() {
        // example: dev.metagen.control.grammar.CompiledGrammar
        CompiledGrammar compiled = CompiledGrammar.compile(GbnfParser.parse("root ::= \"a\" [0-9]+"));
        GrammarAutomaton automaton = new GrammarAutomaton(compiled);
        int state = automaton.walk(automaton.start(), "a42".getBytes(StandardCharsets.UTF_8));
        boolean complete = automaton.accepts(state);                    // true
        // end
        assertTrue(complete);
        assertTrue(compiled.ruleCount() >= 1 && compiled.elementCount() > 0);
    }

    @Test
    void smcGenerator() {
        // example: dev.metagen.control.sequence.SmcGenerator
        Potential manyOs = (text, finished) -> 2.0 * text.chars().filter(c -> c == 'o').count();
        Generator smc = new SmcGenerator(model, manyOs, 8, 2, null);   // 8 particles, resampled every 2 tokens
        Generation g = smc.generate(Prompt.of("Once upon a time"), GenerationParams.of(24, new SamplingConfig().seed(3)));
        // end
        assertTrue(g.tokens().length > 0);
        assertTrue(g.cost().generatedTokens() >= g.tokens().length * 8L, "every particle's tokens are counted");
    }

    @Test
    void fudgeSampler() {
        // example: dev.metagen.control.sequence.FudgeSampler
        PartialScorer likesCats = text -> text.contains("cat") ? 0 : -2;   // log p(attribute | text)
        SamplingGenerator fudge = new SamplingGenerator(model).withProcessors((params, promptIds) -> new LogitsProcessors(
                List.of(), null, List.of(new FudgeSampler(model.tokenizer(), likesCats, 8, 1.0)), null));
        Generation g = fudge.generate(Prompt.of("Once upon a time"), GenerationParams.of(24, new SamplingConfig().seed(3)));
        // each discriminator call counts as a tool call of g.cost()
        // end
        assertTrue(g.tokens().length > 0);
        assertTrue(g.cost().toolCalls() >= g.tokens().length, "up to 8 discriminator calls per token: " + g.cost());
    }

    @Test
    void tokenHealing() {
        // example: dev.metagen.control.TokenHealing
        Generation g = TokenHealing.generate(model, Prompt.of("Once upon a ti"), GenerationParams.greedy(8), 2);
        // the prompt ends inside a word: g.text() continues it ("me, there was ...")
        // end
        assertTrue(g.text().startsWith("me"), g.text());
    }
}
