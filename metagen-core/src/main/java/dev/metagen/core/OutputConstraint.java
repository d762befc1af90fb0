package dev.metagen.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the output of a generation must match (controlled generation, Welleck et al. 2024, section 3.2): a regular
 * expression, a GBNF grammar, a JSON Schema, any JSON object, one of several strings, or text containing every one
 * of several words. A value of the parameter model: the controlled-generation module compiles it into a token mask
 * for a vocabulary.
 *
 * @param kind       which language
 * @param source     the regex, the GBNF text or the JSON Schema text (empty for the other kinds)
 * @param options    the strings of {@link Kind#CHOICE} or the words of {@link Kind#CONTAINS} (empty otherwise)
 * @param bestEffort for a JSON Schema: drop unsupported keywords instead of failing
 */
public record OutputConstraint(Kind kind, String source, List<String> options, boolean bestEffort) {
    /** The constraint languages, with their field names in specs and requests. */
    public enum Kind {
        /** A regular expression the whole output matches. */
        REGEX("regex"),
        /** A GBNF grammar the output is derived from. */
        GRAMMAR("grammar"),
        /** A JSON Schema the output is valid under. */
        JSON_SCHEMA("json_schema"),
        /** Any JSON object. */
        JSON_OBJECT("json_object"),
        /** Exactly one of a list of strings. */
        CHOICE("choice"),
        /** Text that contains every word of a list. */
        CONTAINS("contains");

        private final String field;

        Kind(String field) {
            this.field = field;
        }

        /**
         * The field that names this kind in a spec, e.g. {@code json_schema}.
         *
         * @return the field name
         */
        public String field() {
            return field;
        }
    }

    /** Checks that a choice or contains list is not empty. */
    public OutputConstraint {
        Objects.requireNonNull(kind, "kind");
        source = source == null ? "" : source;
        options = List.copyOf(options);
        if ((kind == Kind.CHOICE || kind == Kind.CONTAINS) && options.isEmpty()) {
            throw new MetagenException(kind.field() + " needs at least one string");
        }
    }

    /**
     * The output must match {@code regex} in full.
     *
     * @param regex the pattern
     * @return the constraint
     */
    public static OutputConstraint regex(String regex) {
        return new OutputConstraint(Kind.REGEX, regex, List.of(), false);
    }

    /**
     * The output must be derivable from a GBNF grammar.
     *
     * @param gbnf the grammar's text
     * @return the constraint
     */
    public static OutputConstraint grammar(String gbnf) {
        return new OutputConstraint(Kind.GRAMMAR, gbnf, List.of(), false);
    }

    /**
     * The output must be JSON valid under {@code schema}.
     *
     * @param schema the JSON schema text
     * @param bestEffort whether unsupported schema keywords are ignored instead of refused
     * @return the constraint
     */
    public static OutputConstraint jsonSchema(String schema, boolean bestEffort) {
        return new OutputConstraint(Kind.JSON_SCHEMA, schema, List.of(), bestEffort);
    }

    /**
     * The output must be a JSON object.
     *
     * @return the constraint
     */
    public static OutputConstraint jsonObject() {
        return new OutputConstraint(Kind.JSON_OBJECT, "", List.of(), false);
    }

    /**
     * The output must be exactly one of {@code options}.
     *
     * @param options the allowed outputs
     * @return the constraint
     */
    public static OutputConstraint choice(List<String> options) {
        return new OutputConstraint(Kind.CHOICE, "", options, false);
    }

    /**
     * The output must contain every word of {@code words}.
     *
     * @param words the required words
     * @return the constraint
     */
    public static OutputConstraint contains(List<String> words) {
        return new OutputConstraint(Kind.CONTAINS, "", words, false);
    }

    /**
     * JSON-friendly description for traces.
     *
     * @return the constraint by field name
     */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        switch (kind) {
            case CHOICE, CONTAINS -> m.put(kind.field(), options);
            case JSON_OBJECT -> m.put(kind.field(), true);
            default -> m.put(kind.field(), source.length() > 200 ? source.substring(0, 200) + "..." : source);
        }
        if (bestEffort) {
            m.put("best_effort", true);
        }
        return m;
    }
}
