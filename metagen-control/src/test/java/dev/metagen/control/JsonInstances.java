package dev.metagen.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.MetagenException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Test helper: writes a JSON instance as compact text with object keys in the order the schema declares them
 * (the compiled grammar generates properties in schema order), then the remaining keys in their own order.
 */
final class JsonInstances {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonInstances() {}

    static String canonical(JsonNode instance, JsonNode schema, JsonNode root) {
        try {
            return MAPPER.writeValueAsString(reorder(instance, List.of(schema), root));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MetagenException(e.getMessage());
        }
    }

    private static JsonNode reorder(JsonNode v, List<JsonNode> schemas, JsonNode root) {
        List<JsonNode> level = new ArrayList<>();
        for (JsonNode s : schemas) {
            collect(s, root, level, 0);
        }
        if (v.isObject()) {
            Set<String> order = new LinkedHashSet<>();
            for (JsonNode s : level) {
                s.path("properties").fieldNames().forEachRemaining(order::add);
            }
            for (JsonNode s : level) {
                s.path("required").forEach(r -> order.add(r.asText()));
            }
            ObjectNode out = MAPPER.createObjectNode();
            List<String> keys = new ArrayList<>();
            for (String k : order) {
                if (v.has(k)) {
                    keys.add(k);
                }
            }
            v.fieldNames().forEachRemaining(k -> {
                if (!keys.contains(k)) {
                    keys.add(k);
                }
            });
            for (String k : keys) {
                List<JsonNode> child = new ArrayList<>();
                for (JsonNode s : level) {
                    if (s.path("properties").has(k)) {
                        child.add(s.path("properties").get(k));
                    } else if (s.has("additionalProperties") && s.get("additionalProperties").isObject()) {
                        child.add(s.get("additionalProperties"));
                    }
                }
                out.set(k, reorder(v.get(k), child, root));
            }
            return out;
        }
        if (v.isArray()) {
            var out = MAPPER.createArrayNode();
            for (int i = 0; i < v.size(); i++) {
                List<JsonNode> child = new ArrayList<>();
                for (JsonNode s : level) {
                    JsonNode prefix = s.has("prefixItems") ? s.get("prefixItems") : s.path("items").isArray() ? s.get("items") : null;
                    if (prefix != null && i < prefix.size()) {
                        child.add(prefix.get(i));
                    } else if (s.path("items").isObject()) {
                        child.add(s.get("items"));
                    } else if (s.path("additionalItems").isObject()) {
                        child.add(s.get("additionalItems"));
                    }
                }
                out.add(reorder(v.get(i), child, root));
            }
            return out;
        }
        return v;
    }

    /** The object schemas applying at one instance level: through $ref, allOf, anyOf, oneOf. */
    private static void collect(JsonNode s, JsonNode root, List<JsonNode> out, int depth) {
        if (s == null || !s.isObject() || depth > 20 || out.contains(s)) {
            return;
        }
        out.add(s);
        if (s.has("$ref") && s.get("$ref").asText().startsWith("#")) {
            String frag = s.get("$ref").asText().substring(1);
            JsonNode t = frag.isEmpty() ? root : frag.startsWith("/") ? root.at(frag) : null;
            collect(t, root, out, depth + 1);
        }
        for (String k : List.of("allOf", "anyOf", "oneOf")) {
            for (JsonNode sub : s.path(k)) {
                collect(sub, root, out, depth + 1);
            }
        }
    }
}
