package dev.metagen.engine.chat;

import com.hubspot.jinjava.objects.collections.PyList;
import com.hubspot.jinjava.objects.collections.PyMap;
import com.hubspot.jinjava.objects.serialization.PyishSerializable;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Template data as Jinjava's Python-flavoured collections that also print as Python's {@code str()} does
 * ({@code {'a': 1, 'b': [True, None]}}): templates sometimes output a dict or list directly.
 */
final class PythonValues {
    private PythonValues() {
    }

    @SuppressWarnings("unchecked")
    static Object of(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), of(x)));
            return new Dict(out);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            l.forEach(x -> out.add(of(x)));
            return new PyListPrinted(out);
        }
        return v;
    }

    /** Python's repr of a value inside a container. */
    static String repr(Object v) {
        return switch (v) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case CharSequence s -> quote(s.toString());
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("{");
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                    first = false;
                }
                yield sb.append('}').toString();
            }
            case Collection<?> c -> {
                StringBuilder sb = new StringBuilder("[");
                boolean first = true;
                for (Object o : c) {
                    sb.append(first ? "" : ", ").append(repr(o));
                    first = false;
                }
                yield sb.append(']').toString();
            }
            default -> v.toString();
        };
    }

    /** Python's string repr: single quotes unless the text has one and no double quote. */
    private static String quote(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(q);
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c == q) {
                        sb.append('\\');
                    }
                    sb.append(c);
                }
            }
        }
        return sb.append(q).toString();
    }

    /** A dict that prints as Python does. */
    static final class Dict extends PyMap implements PyishSerializable {
        Dict(Map<String, Object> map) {
            super(map);
        }

        @Override
        public String toString() {
            return repr(this);
        }

        @Override
        public <T extends Appendable & CharSequence> T appendPyishString(T appendable) throws java.io.IOException {
            appendable.append(repr(this));
            return appendable;
        }
    }

    /** A list that prints as Python does. */
    static final class PyListPrinted extends PyList implements PyishSerializable {
        PyListPrinted(List<Object> list) {
            super(list);
        }

        @Override
        public String toString() {
            return repr(this);
        }

        @Override
        public <T extends Appendable & CharSequence> T appendPyishString(T appendable) throws java.io.IOException {
            appendable.append(repr(this));
            return appendable;
        }
    }
}
