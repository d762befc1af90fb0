package dev.metagen.meta.search;

import dev.metagen.core.MetagenException;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Draws a search trace's {@code tree} as Graphviz DOT (the graph language of Gansner and North, 2000): one box per node. */
public final class TreeDot {
    private TreeDot() {
    }

    /**
     * The DOT text of {@code trace.tree.nodes}; the chosen node, when the trace names one, is drawn bold.
     *
     * @param trace a search's trace
     * @return the DOT text
     */
    public static String toDot(Map<String, Object> trace) {
        if (!(trace.get("tree") instanceof Map<?, ?> tree) || !(tree.get("nodes") instanceof List<?> nodes)) {
            throw new MetagenException("the trace has no search tree (trace.tree.nodes)");
        }
        Object chosen = trace.get("chosen_node");
        StringBuilder sb = new StringBuilder("digraph search {\n  node [shape=box, fontname=\"monospace\"];\n");
        for (Object o : nodes) {
            Map<?, ?> n = (Map<?, ?>) o;
            String step = String.valueOf(n.get("step"));
            if (step.length() > 40) {
                step = step.substring(0, 40) + "...";
            }
            String score = n.get("score") instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : "-";
            sb.append("  n").append(n.get("id")).append(" [label=\"").append(escape(step)).append("\\nscore ").append(score)
                    .append("  visits ").append(n.get("visits")).append("\"")
                    .append(Boolean.TRUE.equals(n.get("terminal")) ? ", peripheries=2" : "")
                    .append(n.get("id").equals(chosen) ? ", style=bold" : "").append("];\n");
            if (((Number) n.get("parent")).intValue() >= 0) {
                sb.append("  n").append(n.get("parent")).append(" -> n").append(n.get("id")).append(";\n");
            }
        }
        return sb.append("}\n").toString();
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
