package dev.metagen.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.MetagenException;
import dev.metagen.core.OutputConstraint;
import dev.metagen.core.Tokenizer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A constraint given as JSON fields (a request's or a spec's): exactly one of {@code regex}, {@code choice} (list),
 * {@code grammar} (GBNF text), {@code json_schema} (object or JSON text), {@code json_object: true} or
 * {@code contains} (list of words), and optionally {@code best_effort}. The fields are read by
 * {@link GenerationFields#constraint}, the parameter model's one reader, and compiled by {@link Constraints#compile}.
 */
public final class ConstraintSpec {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** The fields that name a constraint in a spec or request. */
    public static final List<String> FIELDS = List.of("regex", "choice", "grammar", "json_schema", "json_object", "contains", "best_effort");

    private ConstraintSpec() {}

    /**
     * The constraint the fields name (fields outside {@link #FIELDS} are an error), compiled for {@code tok}.
     *
     * @param fields the fields
     * @param tok the tokenizer
     * @return the constraint
     */
    public static TokenConstraint fromFields(Map<String, Object> fields, Tokenizer tok) {
        for (String k : fields.keySet()) {
            if (!FIELDS.contains(k)) {
                throw new MetagenException("unknown field '" + k + "' in a constrained leaf (known: " + FIELDS + ")");
            }
        }
        Map<String, Object> f = new LinkedHashMap<>(fields);
        Object schema = f.get("json_schema");
        if (schema != null && !(schema instanceof String)) {
            try {
                f.put("json_schema", MAPPER.writeValueAsString(schema));
            } catch (JsonProcessingException e) {
                throw new MetagenException("json_schema cannot be written as JSON: " + e.getOriginalMessage());
            }
        }
        OutputConstraint c = GenerationFields.constraint(f, "$");
        if (c == null) {
            throw new MetagenException("a constraint needs exactly one of regex, choice, grammar, json_schema, json_object, contains");
        }
        return Constraints.compile(c, tok);
    }
}
