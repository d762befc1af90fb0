package dev.metagen.meta.spec;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A JSON object of a strategy spec with its path ({@code $.inner.scorer}): typed getters report errors naming the
 * path, and {@link #requireAllUsed} reports fields that no component read (typos).
 */
public final class SpecNode {
    private final JsonNode json;
    private final String path;
    private final Set<String> used = new HashSet<>();
    // set only on the empty nodes SpecReference builds every registered type from, to learn which fields it reads
    private final SpecReference.Probe probe;

    SpecNode(JsonNode json, String path) {
        this(json, path, null);
    }

    private SpecNode(JsonNode json, String path, SpecReference.Probe probe) {
        if (json == null || !json.isObject()) {
            throw new StrategySpecException(path, "expected a JSON object, got " + describe(json));
        }
        this.json = json;
        this.path = path;
        this.probe = probe;
    }

    /** An empty node that records every field a builder asks for ({@link SpecReference}). */
    static SpecNode probe(String path, SpecReference.Probe probe) {
        return new SpecNode(MAPPER.createObjectNode(), path, probe);
    }

    boolean isProbe() {
        return probe != null;
    }

    /** The fields read so far. */
    Set<String> used() {
        return java.util.Collections.unmodifiableSet(used);
    }

    /** {@return this object's JSON path} */
    public String path() {
        return path;
    }

    /**
     * The JSON path of one of this object's fields.
     *
     * @param field the field
     * @return the path
     */
    public String path(String field) {
        return path + "." + field;
    }

    /**
     * Whether {@code field} is present and not null.
     *
     * @param field the field
     * @return true when it is given
     */
    public boolean has(String field) {
        if (probe != null) {
            used.add(field); // a field looked at is one the spec may give
        }
        return json.has(field) && !json.get(field).isNull();
    }

    private JsonNode get(String field) {
        used.add(field);
        return json.get(field);
    }

    /**
     * The object's {@code "type"} string.
     *
     * @param what what the object is, for the error message (e.g. {@code scorer})
     * @return the type
     */
    public String type(String what) {
        JsonNode t = get("type");
        if (probe != null) {
            return "";
        }
        if (t == null || !t.isTextual()) {
            throw new StrategySpecException(path("type"), "missing " + what + " \"type\" (a string)");
        }
        return t.asText();
    }

    /**
     * A string field.
     *
     * @param field the field
     * @param fallback the value when absent (null: the field is required)
     * @return the value
     */
    public String string(String field, String fallback) {
        JsonNode v = get(field);
        if (v == null || v.isNull()) {
            if (fallback == null && probe != null) {
                return "";
            }
            if (fallback == null) {
                throw new StrategySpecException(path(field), "required string is missing");
            }
            return fallback;
        }
        if (!v.isTextual()) {
            throw new StrategySpecException(path(field), "expected a string, got " + describe(v));
        }
        return v.asText();
    }

    /**
     * A required string field.
     *
     * @param field the field
     * @return the value
     */
    public String string(String field) {
        return string(field, null);
    }

    /**
     * An integer field.
     *
     * @param field the field
     * @param fallback the value when absent
     * @param min the least value allowed
     * @return the value
     */
    public int integer(String field, int fallback, int min) {
        JsonNode v = get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new StrategySpecException(path(field), "expected an integer, got " + describe(v));
        }
        if (v.asInt() < min) {
            throw new StrategySpecException(path(field), "must be >= " + min + ", got " + v.asInt());
        }
        return v.asInt();
    }

    /**
     * A long integer field.
     *
     * @param field the field
     * @param fallback the value when absent
     * @param min the least value allowed
     * @return the value
     */
    public long longValue(String field, long fallback, long min) {
        JsonNode v = get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new StrategySpecException(path(field), "expected an integer, got " + describe(v));
        }
        if (v.asLong() < min) {
            throw new StrategySpecException(path(field), "must be >= " + min + ", got " + v.asLong());
        }
        return v.asLong();
    }

    /**
     * A number field.
     *
     * @param field the field
     * @param fallback the value when absent
     * @param min the least value allowed
     * @param max the largest value allowed
     * @return the value
     */
    public double number(String field, double fallback, double min, double max) {
        JsonNode v = get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new StrategySpecException(path(field), "expected a number, got " + describe(v));
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw new StrategySpecException(path(field), "must be in [" + min + ", " + max + "], got " + d);
        }
        return d;
    }

    /**
     * A boolean field.
     *
     * @param field the field
     * @param fallback the value when absent
     * @return the value
     */
    public boolean bool(String field, boolean fallback) {
        JsonNode v = get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw new StrategySpecException(path(field), "expected true or false, got " + describe(v));
        }
        return v.asBoolean();
    }

    /**
     * An array of strings (empty when absent).
     *
     * @param field the field
     * @return the strings
     */
    public List<String> strings(String field) {
        JsonNode v = get(field);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (!v.isArray()) {
            throw new StrategySpecException(path(field), "expected an array of strings, got " + describe(v));
        }
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw new StrategySpecException(path(field) + "[" + i + "]", "expected a string, got " + describe(v.get(i)));
            }
            out.add(v.get(i).asText());
        }
        return out;
    }

    /**
     * The object at {@code field}, or null when absent.
     *
     * @param field the field
     * @return the object, or null
     */
    public SpecNode child(String field) {
        if (probe != null) {
            used.add(field);
            return probe.optionalChild() ? probe.child(this, field) : null;
        }
        JsonNode v = get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        return new SpecNode(v, path(field));
    }

    /**
     * A required object field.
     *
     * @param field the field
     * @return the object
     */
    public SpecNode requireChild(String field) {
        if (probe != null) {
            used.add(field);
            return probe.child(this, field);
        }
        SpecNode c = child(field);
        if (c == null) {
            throw new StrategySpecException(path(field), "required object is missing");
        }
        return c;
    }

    /**
     * The objects of the array at {@code field}; at least {@code min} of them.
     *
     * @param field the field
     * @param min the fewest objects allowed
     * @return the objects
     */
    public List<SpecNode> children(String field, int min) {
        if (probe != null) {
            used.add(field);
            return List.of(probe.child(this, field + "[]"));
        }
        JsonNode v = get(field);
        if (v == null || v.isNull() || !v.isArray()) {
            throw new StrategySpecException(path(field), "expected an array of objects, got " + describe(v));
        }
        if (v.size() < min) {
            throw new StrategySpecException(path(field), "needs at least " + min + " entries, got " + v.size());
        }
        List<SpecNode> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            out.add(new SpecNode(v.get(i), path(field) + "[" + i + "]"));
        }
        return out;
    }

    /**
     * The fields of {@code names} present here, as plain JSON values (maps, lists, strings, numbers, booleans), now
     * marked read; an object or array given for a field that takes JSON text ({@code json_schema}) is kept as a
     * value, and {@link #jsonText} writes it.
     *
     * @param names the field names
     * @return the values by name
     */
    public java.util.Map<String, Object> values(java.util.Set<String> names) {
        java.util.Map<String, Object> out = present(names);
        used.addAll(out.keySet());
        return out;
    }

    /**
     * The fields of {@code names} present here as plain JSON values, without marking them read: lets a leaf factory
     * look at fields that the parser applies (e.g. compile a leaf's constraint once, when the spec is built).
     *
     * @param names the field names
     * @return the values by name
     */
    public java.util.Map<String, Object> peek(java.util.Set<String> names) {
        java.util.Map<String, Object> out = present(names);
        out.computeIfPresent("json_schema", (k, v) -> jsonText(v));
        return out;
    }

    private java.util.Map<String, Object> present(java.util.Set<String> names) {
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        Iterator<String> it = json.fieldNames();
        while (it.hasNext()) {
            String f = it.next();
            if (names.contains(f) && !json.get(f).isNull()) {
                out.put(f, MAPPER.convertValue(json.get(f), Object.class));
            }
        }
        return out;
    }

    /**
     * {@code value} as JSON text: a string stays as it is, anything else is written as JSON.
     *
     * @param value a JSON value
     * @return its JSON text
     */
    public static String jsonText(Object value) {
        if (value instanceof String s) {
            return s;
        }
        try {
            return MAPPER.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * The fields nobody has read yet, as plain JSON values, now marked read: lets a leaf factory hand its
     * parameters to a parser of its own (e.g. a decoding spec) that checks them itself.
     *
     * @return the values by name
     */
    public java.util.Map<String, Object> remainingFields() {
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        Iterator<String> names = json.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!used.contains(f)) {
                used.add(f);
                out.put(f, MAPPER.convertValue(json.get(f), Object.class));
            }
        }
        return out;
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

    /** Fails on a field that nothing read: a typo would otherwise be silently ignored. */
    public void requireAllUsed() {
        Iterator<String> names = json.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!used.contains(f)) {
                throw new StrategySpecException(path(f), "unknown field (known here: " + new TreeSet<>(used) + ")");
            }
        }
    }

    static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        if (v.isObject()) {
            return "an object";
        }
        if (v.isArray()) {
            return "an array";
        }
        return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + v;
    }
}
