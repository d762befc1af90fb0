package dev.metagen.control;

import dev.metagen.control.json.JsonSchemaCompiler;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OpenAPI's {@code int32} and {@code int64} integer formats, which Java schema generators write for {@code int} and
 * {@code long} fields, bound the value so that a generated answer fits the field; other bounds still apply.
 */
@Tag("model")
class JsonSchemaIntegerFormatTest {
    private static GrammarConstraint compile(String schema) {
        Vocabulary vocab = Vocabulary.of(Models.stories().tokenizer());
        return new GrammarConstraint(dev.metagen.control.grammar.GrammarAutomaton.of(
                JsonSchemaCompiler.compile(schema, false).grammar()), vocab, "schema");
    }

    private static boolean accepts(GrammarConstraint c, String text) {
        return JsonSchemaTestSuiteTest.accepts(c, Vocabulary.of(Models.stories().tokenizer()), text);
    }

    @Test
    void int32AndInt64BoundTheValue() {
        GrammarConstraint i32 = compile("{\"type\":\"integer\",\"format\":\"int32\"}");
        for (String ok : new String[]{"0", "-7", "2147483647", "-2147483648"}) {
            assertTrue(accepts(i32, ok), ok);
        }
        for (String bad : new String[]{"2147483648", "-2147483649", "-3000000000", "99999999999"}) {
            assertFalse(accepts(i32, bad), bad);
        }
        GrammarConstraint i64 = compile("{\"type\":\"integer\",\"format\":\"int64\"}");
        assertTrue(accepts(i64, "9223372036854775807"));
        assertTrue(accepts(i64, "-3000000000"));
        assertFalse(accepts(i64, "9223372036854775808"));
        GrammarConstraint bounded = compile("{\"type\":\"integer\",\"format\":\"int32\",\"minimum\":5,\"exclusiveMaximum\":3000000000}");
        assertTrue(accepts(bounded, "2147483647"));
        assertFalse(accepts(bounded, "4"));
        assertFalse(accepts(bounded, "2147483648"));
        GrammarConstraint plain = compile("{\"type\":\"integer\"}");
        assertTrue(accepts(plain, "99999999999"), "without a format an integer has no bound");
    }
}
