package dev.metagen.engine.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Jinja2 filters that chat templates use and Jinjava lacks or reads otherwise: {@code items}, {@code min}, {@code max}, {@code from_json}, {@code trim}. */
final class PythonFilters {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PythonFilters() {
    }

    static List<Filter> all() {
        return List.of(new Items(), new Extreme("min", false), new Extreme("max", true), new FromJson(), new Trim());
    }

    /**
     * {@code x|trim} and {@code x|trim(chars)}: a missing value trims to the empty string, as Jinja2's undefined does
     * (Jinjava would print {@code null}; templates trim optional fields such as a parameter's description). Jinjava
     * has one null for missing and None, so an explicit None also trims to "" where Jinja2 prints "None".
     */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return "";
            }
            String s = var instanceof CharSequence c ? c.toString()
                    : var instanceof Boolean || var instanceof Map<?, ?> || var instanceof Collection<?> ? PythonValues.repr(var)
                    : var.toString();
            if (args.length == 0 || args[0] == null) {
                return s.strip();
            }
            String chars = args[0]; // trim(chars): Python's str.strip(chars)
            int a = 0;
            int b = s.length();
            while (a < b && chars.indexOf(s.charAt(a)) >= 0) {
                a++;
            }
            while (b > a && chars.indexOf(s.charAt(b - 1)) >= 0) {
                b--;
            }
            return s.substring(a, b);
        }
    }

    /** {@code d|items}: the (key, value) pairs of a mapping, for {@code for k, v in d|items}. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            List<List<Object>> out = new ArrayList<>();
            if (var instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    List<Object> pair = new ArrayList<>(2);
                    pair.add(e.getKey());
                    pair.add(e.getValue());
                    out.add(pair);
                }
            } else if (var != null) {
                throw new IllegalArgumentException("items: not a mapping: " + var.getClass().getSimpleName());
            }
            return out;
        }
    }

    /** {@code xs|min} and {@code xs|max}, optionally by {@code attribute=...}. */
    static final class Extreme implements Filter {
        private final String name;
        private final boolean max;

        Extreme(String name, boolean max) {
            this.name = name;
            this.max = max;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return pick(var, null);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object attribute = kwargs.get("attribute");
            return pick(var, attribute == null ? null : attribute.toString());
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private Object pick(Object var, String attribute) {
            if (!(var instanceof Collection<?> c) || c.isEmpty()) {
                return null;
            }
            Comparator<Object> cmp = (a, b) -> {
                Object x = attribute != null && a instanceof Map<?, ?> ma ? ma.get(attribute) : a;
                Object y = attribute != null && b instanceof Map<?, ?> mb ? mb.get(attribute) : b;
                if (x instanceof Number nx && y instanceof Number ny) {
                    return Double.compare(nx.doubleValue(), ny.doubleValue());
                }
                return ((Comparable) x).compareTo(y);
            };
            return max ? c.stream().map(o -> (Object) o).max(cmp).orElse(null)
                    : c.stream().map(o -> (Object) o).min(cmp).orElse(null);
        }
    }

    /** {@code text|from_json}: parses JSON text (llama.cpp's templates use it for tool arguments). */
    static final class FromJson implements Filter {
        @Override
        public String getName() {
            return "from_json";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return null;
            }
            try {
                return JSON.readValue(var.toString(), Object.class);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("from_json: not valid JSON: " + e.getOriginalMessage());
            }
        }
    }
}
