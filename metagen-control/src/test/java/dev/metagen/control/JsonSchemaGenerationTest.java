package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Validity: every output generated under a JSON Schema (greedy and sampled, on stories260K and on the random-weight
 * model with the 102k deepseek-llm vocabulary) parses and validates with networknt's validator; also json_object,
 * errors naming the JSON pointer, best-effort drops, and impossible schemas failing before generation.
 */
@Tag("model")
class JsonSchemaGenerationTest {
    static final List<String> SCHEMAS = List.of(
            """
            {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
             "email":{"type":"string","format":"email"},"tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3}},
             "required":["name","age","tags"],"additionalProperties":false}""",
            """
            {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","exclusiveMinimum":-5,"maximum":5},
              "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"],"additionalProperties":false}},
             "$ref":"#/$defs/node"}""",
            """
            {"type":"object","properties":{"id":{"type":"string","format":"uuid"},"when":{"type":"string","format":"date-time"},
             "day":{"type":"string","format":"date"},"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"},
             "kind":{"anyOf":[{"type":"null"},{"const":"fixed"},{"type":"number","minimum":1.0,"maximum":3}]},
             "pair":{"type":"array","prefixItems":[{"type":"boolean"},{"type":"string","minLength":2,"maxLength":4}],"items":false}},
             "required":["id","when","day","code","kind","pair"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"x":{"type":"number"},"y":{"type":["string","null"],"maxLength":5}},"required":["x"]}""",
            """
            {"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                      {"properties":{"b":{"type":"boolean"}},"required":["b"]}]}""");

    @Test
    void generatedOutputsValidate() throws Exception {
        int finished = 0;
        int total = 0;
        List<String> invalid = new ArrayList<>();
        for (String schemaText : SCHEMAS) {
            JsonNode schema = JsonInstances.MAPPER.readTree(schemaText);
            SchemaValidator validator = new SchemaValidator(schema);
            for (LanguageModel m : List.of(Models.stories(), Models.bigVocab())) {
                GrammarConstraint c = Constraints.jsonSchema(schemaText, false, m.tokenizer());
                for (long seed = 0; seed < 3; seed++) {
                    GenerationParams p = new GenerationParams(96, seed == 0 ? 0 : 1.0, 0, 1.0, seed, true, List.of());
                    Generation g = new ConstrainedGenerator(m, c, 0.5).generate(Prompt.of("JSON:"), p);
                    total++;
                    if (g.finish() != FinishReason.STOP) {
                        continue;
                    }
                    finished++;
                    JsonNode out;
                    try {
                        out = JsonInstances.MAPPER.readTree(g.text());
                    } catch (Exception e) {
                        invalid.add("not JSON: " + g.text());
                        continue;
                    }
                    var errors = validator.errors(out);
                    if (!errors.isEmpty()) {
                        invalid.add(errors + " : " + g.text());
                    }
                }
            }
        }
        System.out.println("JSON Schema generations: " + finished + "/" + total + " finished, all validated");
        assertEquals(List.of(), invalid);
        assertTrue(finished * 10 >= total * 9, "too few outputs finished: " + finished + "/" + total);
    }

    @Test
    void jsonObjectModeGivesObjects() throws Exception {
        for (LanguageModel m : List.of(Models.stories(), Models.bigVocab())) {
            GrammarConstraint c = Constraints.jsonObject(m.tokenizer());
            for (long seed = 0; seed < 3; seed++) {
                GenerationParams p = new GenerationParams(64, seed == 0 ? 0 : 1.0, 0, 1.0, seed, true, List.of());
                Generation g = new ConstrainedGenerator(m, c, 0.5).generate(Prompt.of("Data:"), p);
                assertEquals(FinishReason.STOP, g.finish(), g.text());
                assertTrue(JsonInstances.MAPPER.readTree(g.text()).isObject(), g.text());
            }
        }
    }

    @Test
    void errorsNameTheJsonPointer() {
        String schema = """
                {"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"contains":{"const":"x"}}}}""";
        MetagenException e = assertThrows(MetagenException.class, () -> JsonSchemaCompiler.compile(schema, false));
        assertEquals("JSON Schema keyword at #/properties/a/contains is not supported: contains", e.getMessage());
        JsonSchemaCompiler.Result r = JsonSchemaCompiler.compile(schema, true);
        assertEquals(List.of("#/properties/a/contains (contains)"), r.dropped());
        // impossible schemas fail at compile time, before any generation
        e = assertThrows(MetagenException.class, () -> Constraints.jsonSchema("{\"type\":\"integer\",\"minimum\":5,\"maximum\":2}", false, Models.stories().tokenizer()));
        assertTrue(e.getMessage().contains("never be satisfied"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> Constraints.jsonSchema("{\"enum\":[]}", false, Models.stories().tokenizer()));
        assertTrue(e.getMessage().contains("never be satisfied"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> JsonSchemaCompiler.compile("{\"type\": ", false));
        assertTrue(e.getMessage().startsWith("JSON Schema is not valid JSON"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> JsonSchemaCompiler.compile("{\"$ref\":\"#/$defs/missing\"}", false));
        assertTrue(e.getMessage().contains("does not resolve"), e.getMessage());
    }
}
