package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The JSON-Schema-Test-Suite (draft2020-12 and draft7, required tests) drives the compiler: for every schema that
 * compiles in strict mode, each "valid" instance (written compactly, keys in schema order) fed token by token
 * through the masks of stories260K's vocabulary must be accepted, and each "invalid" one rejected. The few known
 * over-approximations (oneOf exclusivity) are counted separately and asserted to be the only ones.
 */
@Tag("model")
class JsonSchemaTestSuiteTest {

    @ParameterizedTest
    @ValueSource(strings = {"draft2020-12", "draft7"})
    void validAcceptedInvalidRejected(String draft) throws IOException {
        Path dir = Models.datasets().resolve("json-schema-test-suite/tests").resolve(draft);
        Tokenizer tok = Models.stories().tokenizer();
        Vocabulary vocab = Vocabulary.of(tok);
        int groups = 0, compiled = 0, validOk = 0, validTotal = 0, invalidOk = 0, invalidTotal = 0, oneOfLoose = 0;
        List<String> failures = new ArrayList<>();
        java.util.Map<String, Integer> deviations = new java.util.TreeMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (Path f : files) {
            JsonNode doc = JsonInstances.MAPPER.readTree(f.toFile());
            for (JsonNode group : doc) {
                groups++;
                JsonNode schema = group.get("schema");
                GrammarConstraint c;
                try {
                    c = new GrammarConstraint(dev.metagen.control.grammar.GrammarAutomaton.of(
                            JsonSchemaCompiler.compile(schema, false, draft.equals("draft7")).grammar()), vocab, "schema");
                } catch (MetagenException e) {
                    continue; // unsupported keyword or impossible schema: a clear error, counted as not compiled
                }
                compiled++;
                for (JsonNode t : group.get("tests")) {
                    boolean valid = t.get("valid").asBoolean();
                    String text = JsonInstances.canonical(t.get("data"), schema, schema);
                    boolean accepted = accepts(c, vocab, text);
                    if (valid) {
                        validTotal++;
                        if (accepted) {
                            validOk++;
                        } else if (deviation(f, group, t) != null) {
                            deviations.merge(deviation(f, group, t), 1, Integer::sum);
                        } else {
                            failures.add("valid rejected: " + f.getFileName() + " / " + group.get("description").asText() + " / " + t.get("description").asText() + " : " + text);
                        }
                    } else {
                        invalidTotal++;
                        if (!accepted) {
                            invalidOk++;
                        } else if (schema.toString().contains("\"oneOf\"")) {
                            oneOfLoose++; // a sentence matching several oneOf branches: the grammar is a union
                        } else {
                            failures.add("invalid accepted: " + f.getFileName() + " / " + group.get("description").asText() + " / " + t.get("description").asText() + " : " + text);
                        }
                    }
                }
            }
        }
        System.out.printf("%s: %d/%d schemas compiled; valid accepted %d/%d; invalid rejected %d/%d (+%d oneOf over-approximations)%n",
                draft, compiled, groups, validOk, validTotal, invalidOk, invalidTotal, oneOfLoose);
        System.out.println("  documented deviations (valid instances not accepted): " + deviations);
        failures.forEach(System.out::println);
        // many suite files exist only for keywords outside the supported subset (dynamic refs, unevaluated*, not, if ...)
        assertTrue(compiled * 5 > groups * 2, "too few schemas compile: " + compiled + "/" + groups);
        assertEquals(List.of(), failures);
    }

    /**
     * The deliberate, documented differences: formats are asserted (the suite treats them as annotations), const
     * objects are generated in their own key order, exponent-notation numbers are not matched to integer consts,
     * integers are written without a fraction (1.0 is rejected for "integer", as draft 4 validators do), and custom
     * metaschema vocabularies are not read.
     */
    static String deviation(Path file, JsonNode group, JsonNode test) {
        String name = file.getFileName().toString();
        String g = group.get("description").asText();
        String t = test.get("description").asText();
        if (name.equals("format.json") && t.contains("only an annotation")) {
            return "format asserted";
        }
        if (name.equals("const.json") && t.contains("different property order")) {
            return "const object key order";
        }
        if (g.contains("equal up to 64-bit representation")) {
            return "exponent notation const";
        }
        if (name.equals("type.json") && t.contains("zero fractional part is an integer")) {
            return "integers without fraction";
        }
        if (name.equals("vocabulary.json")) {
            return "metaschema vocabularies";
        }
        return null;
    }

    /** Feeds {@code text} token by token (greedy longest-match spelling) through the masks. */
    static boolean accepts(GrammarConstraint c, Vocabulary v, String text) {
        ConstraintState st = c.start();
        for (int id : GbnfGrammarsTest.spell(v, text.getBytes(StandardCharsets.UTF_8))) {
            if (!st.isAllowed(id)) {
                return false;
            }
            st = st.advance(id);
        }
        return st.isComplete();
    }
}
