package dev.metagen.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.control.grammar.GrammarAutomaton;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The constraint of a strategy-spec leaf ({@code {"type": "constrained", "regex": ...}}): exactly one of
 * {@code regex}, {@code choice} (list), {@code grammar} (GBNF text), {@code json_schema} (object or JSON text),
 * {@code json_object: true} or {@code contains} (list of words), and optionally {@code best_effort}.
 */
public final class ConstraintSpec {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    public static final List<String> FIELDS = List.of("regex", "choice", "grammar", "json_schema", "json_object", "contains", "best_effort");

    private ConstraintSpec() {}

    public static TokenConstraint fromFields(Map<String, Object> fields, Tokenizer tok) {
        for (String k : fields.keySet()) {
            if (!FIELDS.contains(k)) {
                throw new MetagenException("unknown field '" + k + "' in a constrained leaf (known: " + FIELDS + ")");
            }
        }
        List<String> given = new ArrayList<>(fields.keySet());
        given.remove("best_effort");
        if (given.size() != 1) {
            throw new MetagenException("a constrained leaf needs exactly one of regex, choice, grammar, json_schema, json_object, contains; got " + given);
        }
        boolean bestEffort = Boolean.TRUE.equals(fields.get("best_effort"));
        Object v = fields.get(given.getFirst());
        return switch (given.getFirst()) {
            case "regex" -> Constraints.regex(text(v, "regex"), tok);
            case "grammar" -> Constraints.gbnf(text(v, "grammar"), tok);
            case "choice" -> Constraints.choice(words(v, "choice"), tok);
            case "contains" -> Constraints.containsAll(words(v, "contains"), tok);
            case "json_object" -> {
                if (!Boolean.TRUE.equals(v)) {
                    throw new MetagenException("json_object must be true");
                }
                yield Constraints.jsonObject(tok);
            }
            default -> {
                String schema;
                try {
                    schema = v instanceof String s ? s : MAPPER.writeValueAsString(v);
                } catch (JsonProcessingException e) {
                    throw new MetagenException("json_schema cannot be written as JSON: " + e.getOriginalMessage());
                }
                JsonSchemaCompiler.Result r = JsonSchemaCompiler.compile(schema, bestEffort);
                yield new GrammarConstraint(GrammarAutomaton.of(r.grammar()), Vocabulary.of(tok), "JSON Schema");
            }
        };
    }

    private static String text(Object v, String field) {
        if (!(v instanceof String s)) {
            throw new MetagenException(field + " must be a string");
        }
        return s;
    }

    private static List<String> words(Object v, String field) {
        if (!(v instanceof List<?> l) || l.isEmpty() || !l.stream().allMatch(x -> x instanceof String)) {
            throw new MetagenException(field + " must be a non-empty list of strings");
        }
        return l.stream().map(String.class::cast).toList();
    }
}
