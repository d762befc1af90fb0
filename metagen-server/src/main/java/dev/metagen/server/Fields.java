package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Typed reads of a JSON request object: each getter checks type and range and throws a 400 naming the field,
 * so no malformed value reaches the algorithms. A JSON {@code null} counts as absent, as OpenAI clients send it.
 */
final class Fields {
    private final ObjectNode node;
    private final String prefix;

    Fields(ObjectNode node, String prefix) {
        this.node = node;
        this.prefix = prefix;
    }

    static Fields of(JsonNode node, String name) {
        if (!(node instanceof ObjectNode o)) {
            throw ApiException.invalid(name.isEmpty() ? null : name, (name.isEmpty() ? "the request body" : name) + " must be a JSON object");
        }
        return new Fields(o, name.isEmpty() ? "" : name + ".");
    }

    String name(String field) {
        return prefix + field;
    }

    boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    JsonNode get(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    /** Fails on any field outside {@code known} (strict places: response_format, stream_options, messages). */
    void requireKnown(Set<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw ApiException.invalid(name(f), "unrecognized field '" + name(f) + "' (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        }
    }

    boolean bool(String field, boolean dflt) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(name(field), name(field) + " must be a boolean, got " + kind(v));
        }
        return v.booleanValue();
    }

    double number(String field, double dflt, double min, double max) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiException.invalid(name(field), name(field) + " must be a number, got " + kind(v));
        }
        double d = v.doubleValue();
        if (!(d >= min && d <= max)) {
            throw ApiException.invalid(name(field), name(field) + " must be in [" + fmt(min) + ", " + fmt(max) + "], got " + v.asText());
        }
        return d;
    }

    long longValue(String field, long dflt, long min, long max) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() && !(v.isNumber() && v.doubleValue() == Math.rint(v.doubleValue()))) {
            throw ApiException.invalid(name(field), name(field) + " must be an integer, got " + kind(v) + (v.isNumber() ? " " + v.asText() : ""));
        }
        if (!v.canConvertToLong()) {
            throw ApiException.invalid(name(field), name(field) + " must be in [" + min + ", " + max + "], got " + v.asText());
        }
        long l = v.longValue();
        if (l < min || l > max) {
            throw ApiException.invalid(name(field), name(field) + " must be in [" + min + ", " + max + "], got " + l);
        }
        return l;
    }

    int integer(String field, int dflt, int min, int max) {
        return (int) longValue(field, dflt, min, max);
    }

    String string(String field, String dflt) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(name(field), name(field) + " must be a string, got " + kind(v));
        }
        return v.textValue();
    }

    /** A string or an array of strings (at most {@code max}). */
    List<String> strings(String field, int max) {
        JsonNode v = get(field);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (v.isTextual()) {
            out.add(v.textValue());
            return out;
        }
        if (!v.isArray()) {
            throw ApiException.invalid(name(field), name(field) + " must be a string or an array of strings, got " + kind(v));
        }
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw ApiException.invalid(name(field), name(field) + " must contain only strings, got " + kind(e));
            }
            out.add(e.textValue());
        }
        if (out.size() > max) {
            throw ApiException.invalid(name(field), name(field) + " may hold at most " + max + " strings, got " + out.size());
        }
        return out;
    }

    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String fmt(double d) {
        return d == (long) d ? String.valueOf((long) d) : String.valueOf(d);
    }
}
