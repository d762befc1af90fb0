package dev.metagen.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Jinja2 3.x's {@code indent(width=4, first=False, blank=False)}; Jinjava's own takes the pre-3.0 {@code indentfirst}.
 */
final class IndentFilter implements Filter {
    @Override
    public String getName() {
        return "indent";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        return indent(var, args.length > 0 ? args[0] : null, args.length > 1 && Boolean.parseBoolean(args[1]),
                args.length > 2 && Boolean.parseBoolean(args[2]));
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object width = kwargs.getOrDefault("width", args.length > 0 ? args[0] : null);
        Object first = kwargs.getOrDefault("first", args.length > 1 ? args[1] : false);
        Object blank = kwargs.getOrDefault("blank", args.length > 2 ? args[2] : false);
        return indent(var, width, truthy(first), truthy(blank));
    }

    private static boolean truthy(Object o) {
        return o instanceof Boolean b ? b : o != null && Boolean.parseBoolean(o.toString());
    }

    static String indent(Object var, Object width, boolean first, boolean blank) {
        String s = var == null ? "" : var.toString();
        String indention;
        if (width == null) {
            indention = "    ";
        } else if (width instanceof Number n) {
            indention = " ".repeat(n.intValue());
        } else if (width.toString().strip().matches("\\d+")) {
            indention = " ".repeat(Integer.parseInt(width.toString().strip()));
        } else {
            indention = width.toString();
        }
        // Python: s += "\n"; then splitlines()
        List<String> lines = new ArrayList<>(List.of((s + "\n").split("\r\n|\r|\n", -1)));
        lines.removeLast();
        StringBuilder rv = new StringBuilder();
        if (blank) {
            rv.append(String.join("\n" + indention, lines));
        } else {
            rv.append(lines.removeFirst());
            for (String line : lines) {
                rv.append('\n').append(line.isEmpty() ? line : indention + line);
            }
        }
        return first ? indention + rv : rv.toString();
    }
}
