package dev.metagen.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.Map;

/**
 * {@code tojson} as transformers defines it for chat templates: Python's {@code json.dumps(x, ensure_ascii=False)}
 * with its default {@code ", "} / {@code ": "} separators, or {@code indent=n} pretty-printing. Jinjava's own tojson
 * writes compact JSON, which would change every prompt that embeds tool definitions.
 */
final class ToJsonFilter implements Filter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0].trim()) : null;
        return PythonJson.dumps(var, indent, false);
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
        Object sortKeys = kwargs.get("sort_keys");
        Integer n = indent == null ? null : ((Number) (indent instanceof Number ? indent
                : Integer.valueOf(indent.toString().trim()))).intValue();
        return PythonJson.dumps(var, n, Boolean.TRUE.equals(sortKeys));
    }
}
