package dev.metagen.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's slice {@code seq[start:stop:step]} on lists and strings, with negative indices and steps
 * ({@code messages[::-1]}, {@code messages[1:]}, {@code text[:n+1]}); {@link JinjaDialect} rewrites slices to it.
 */
final class SliceFilter implements Filter {
    static final String NAME = "metagen_slice";

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        Object[] a = new Object[args.length];
        System.arraycopy(args, 0, a, 0, args.length);
        return slice(var, a);
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        return slice(var, args);
    }

    static Object slice(Object var, Object[] args) {
        Integer start = index(args, 0);
        Integer stop = index(args, 1);
        Integer stepArg = index(args, 2);
        int step = stepArg == null ? 1 : stepArg;
        if (step == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        if (var instanceof CharSequence cs) {
            String s = cs.toString();
            StringBuilder sb = new StringBuilder();
            for (int i : indices(s.length(), start, stop, step)) {
                sb.append(s.charAt(i));
            }
            return sb.toString();
        }
        List<Object> items = var instanceof Collection<?> c ? new ArrayList<>(c) : var == null ? List.of()
                : List.of(var);
        List<Object> out = new ArrayList<>();
        for (int i : indices(items.size(), start, stop, step)) {
            out.add(items.get(i));
        }
        return out;
    }

    private static Integer index(Object[] args, int i) {
        if (i >= args.length || args[i] == null) {
            return null;
        }
        Object o = args[i];
        if (o instanceof Number n) {
            return n.intValue();
        }
        String s = o.toString().strip();
        return s.isEmpty() || s.equals("none") || s.equals("None") ? null : Integer.valueOf(s);
    }

    /** Python's slice.indices(len) walked. */
    private static List<Integer> indices(int len, Integer start, Integer stop, int step) {
        int lo;
        int hi;
        if (step > 0) {
            lo = start == null ? 0 : clamp(start < 0 ? start + len : start, 0, len);
            hi = stop == null ? len : clamp(stop < 0 ? stop + len : stop, 0, len);
        } else {
            lo = start == null ? len - 1 : clamp(start < 0 ? start + len : start, -1, len - 1);
            hi = stop == null ? -1 : clamp(stop < 0 ? stop + len : stop, -1, len - 1);
        }
        List<Integer> out = new ArrayList<>();
        for (int i = lo; step > 0 ? i < hi : i > hi; i += step) {
            out.add(i);
        }
        return out;
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
