package dev.metagen.engine.chat;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code str} methods ({@code strip}, {@code startswith}, {@code split}, ...) for Jinjava, which resolves
 * method calls to Java methods: chat templates are written against Jinja2 on Python strings and call them freely.
 * Only calls on strings are handled; everything else falls through to Jinjava's own resolver.
 */
final class PythonMethodResolver extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof CharSequence cs) || method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        String s = cs.toString();
        Object result = stringMethod(s, method.toString(), args);
        if (result == NOT_HANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_HANDLED = new Object();

    static Object stringMethod(String s, String method, Object[] a) {
        return switch (method) {
            case "strip" -> strip(s, charsArg(a), true, true);
            case "lstrip" -> strip(s, charsArg(a), true, false);
            case "rstrip" -> strip(s, charsArg(a), false, true);
            case "startswith" -> anyPrefix(s, a[0], true);
            case "endswith" -> anyPrefix(s, a[0], false);
            case "split" -> split(s, a.length > 0 ? str(a[0]) : null, a.length > 1 ? toInt(a[1]) : -1);
            case "rsplit" -> rsplit(s, a.length > 0 ? str(a[0]) : null, a.length > 1 ? toInt(a[1]) : -1);
            case "splitlines" -> List.of(s.split("\r\n|\r|\n", -1)).subList(0,
                    s.isEmpty() ? 0 : s.split("\r\n|\r|\n", -1).length - (s.matches("(?s).*(\r\n|\r|\n)") ? 1 : 0));
            case "upper" -> s.toUpperCase();
            case "lower" -> s.toLowerCase();
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1).toLowerCase();
            case "replace" -> a.length > 2 ? replaceCount(s, str(a[0]), str(a[1]), toInt(a[2]))
                    : s.replace(str(a[0]), str(a[1]));
            case "find" -> s.indexOf(str(a[0]));
            case "rfind" -> s.lastIndexOf(str(a[0]));
            case "index" -> {
                int i = s.indexOf(str(a[0]));
                if (i < 0) {
                    throw new IllegalArgumentException("substring not found");
                }
                yield i;
            }
            case "count" -> count(s, str(a[0]));
            case "join" -> join(s, a[0]);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase());
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase());
            case "removeprefix" -> s.startsWith(str(a[0])) ? s.substring(str(a[0]).length()) : s;
            case "removesuffix" -> s.endsWith(str(a[0])) ? s.substring(0, s.length() - str(a[0]).length()) : s;
            default -> NOT_HANDLED;
        };
    }

    private static String charsArg(Object[] a) {
        return a.length > 0 && a[0] != null ? str(a[0]) : null;
    }

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    private static int toInt(Object o) {
        return o instanceof Number n ? n.intValue() : Integer.parseInt(o.toString());
    }

    private static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0;
        int e = s.length();
        if (left) {
            while (b < e && stripped(s.charAt(b), chars)) {
                b++;
            }
        }
        if (right) {
            while (e > b && stripped(s.charAt(e - 1), chars)) {
                e--;
            }
        }
        return s.substring(b, e);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    private static boolean anyPrefix(String s, Object arg, boolean prefix) {
        if (arg instanceof Collection<?> options) {
            for (Object o : options) {
                if (prefix ? s.startsWith(str(o)) : s.endsWith(str(o))) {
                    return true;
                }
            }
            return false;
        }
        return prefix ? s.startsWith(str(arg)) : s.endsWith(str(arg));
    }

    private static List<String> split(String s, String sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            // Python: runs of whitespace, no empty strings
            String rest = s.strip();
            if (rest.isEmpty()) {
                return out;
            }
            String[] parts = max < 0 ? rest.split("\\s+") : rest.split("\\s+", max + 1);
            return new ArrayList<>(List.of(parts));
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        while (max < 0 || out.size() < max) {
            int i = s.indexOf(sep, from);
            if (i < 0) {
                break;
            }
            out.add(s.substring(from, i));
            from = i + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static List<String> rsplit(String s, String sep, int max) {
        if (max < 0 || sep == null) {
            return split(s, sep, max);
        }
        List<String> out = new ArrayList<>();
        int end = s.length();
        while (out.size() < max) {
            int i = s.lastIndexOf(sep, end - sep.length());
            if (i < 0 || end - sep.length() < 0) {
                break;
            }
            out.addFirst(s.substring(i + sep.length(), end));
            end = i;
        }
        out.addFirst(s.substring(0, end));
        return out;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevLetter = false;
        for (char c : s.toCharArray()) {
            sb.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String replaceCount(String s, String from, String to, int count) {
        if (count < 0) {
            return s.replace(from, to);
        }
        String out = s;
        int at = 0;
        for (int n = 0; n < count; n++) {
            int i = out.indexOf(from, at);
            if (i < 0) {
                break;
            }
            out = out.substring(0, i) + to + out.substring(i + from.length());
            at = i + to.length();
        }
        return out;
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        if (items instanceof Iterable<?> it) {
            it.forEach(o -> parts.add(str(o)));
        } else if (items instanceof Map<?, ?> m) {
            m.keySet().forEach(o -> parts.add(str(o)));
        } else {
            parts.add(str(items));
        }
        return String.join(sep, parts);
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: assignments go to Jinjava's resolver
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return base instanceof CharSequence ? Object.class : null;
    }
}
