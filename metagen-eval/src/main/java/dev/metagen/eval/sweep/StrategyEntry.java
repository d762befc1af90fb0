package dev.metagen.eval.sweep;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One {@code --strategy} of a sweep: a strategy spec (inline JSON, or {@code @FILE}) with two fields of the harness
 * removed before the spec is parsed: {@code "name"} (the label in results and plots; default: the type) and
 * {@code "knob"} (the field the budget sets; default {@link BudgetKnob}, {@code "none"}: run once, at the first budget).
 *
 * @param knob null when the strategy has no budget knob
 */
public record StrategyEntry(String label, ObjectNode spec, String knob) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static StrategyEntry parse(String arg) {
        String text = arg.strip();
        if (text.startsWith("@")) {
            Path f = Path.of(text.substring(1));
            try {
                text = Files.readString(f);
            } catch (IOException e) {
                throw new MetagenException("--strategy @" + f + ": cannot read the file (" + e.getClass().getSimpleName() + ")");
            }
        }
        JsonNode n;
        try {
            n = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new MetagenException("--strategy: malformed JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new MetagenException("--strategy must be a JSON object spec or @FILE");
        }
        ObjectNode spec = ((ObjectNode) n).deepCopy();
        String type = spec.path("type").asText("");
        if (type.isEmpty()) {
            throw new MetagenException("--strategy: the spec has no \"type\"");
        }
        JsonNode name = spec.remove("name");
        JsonNode knobNode = spec.remove("knob");
        String knob = knobNode != null ? knobNode.asText() : BudgetKnob.defaultFor(type).orElse(null);
        if ("none".equals(knob)) {
            knob = null;
        } else if (knob == null && !(type.equals("sample") || type.equals("greedy") || type.equals("beam")
                || type.equals("contrastive") || type.equals("constrained"))) {
            throw new MetagenException("--strategy: type '" + type + "' has no default budget knob; add \"knob\": FIELD (or \"none\")");
        }
        String label = name != null ? name.asText() : type;
        if (label.isBlank() || !label.matches("[A-Za-z0-9_.:+-]+")) {
            throw new MetagenException("--strategy: name '" + label + "' must be letters, digits and _.:+- only");
        }
        return new StrategyEntry(label, spec, knob);
    }

    /** The spec JSON at {@code budget}. */
    public String specAt(int budget) {
        ObjectNode s = spec.deepCopy();
        if (knob != null) {
            s.put(knob, budget);
        }
        return s.toString();
    }
}
