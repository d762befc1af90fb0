package dev.metagen.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ties the usage examples of the Javadoc to tests that run them. A test class holds each example's code between a
 * line {@code // example: dev.metagen.pkg.Type} and a line {@code // end}; {@link #check} reads the test's source
 * and the type's source and fails unless the same lines (indentation aside) stand in the type's
 * {@code <pre>{@code ...}</pre>} block. So an example that drifts from the API fails to compile in its test, and an
 * example edited in the Javadoc alone fails here.
 */
public final class JavadocExamples {
    private JavadocExamples() {
    }

    /**
     * Checks every example block of {@code testClass} against the Javadoc of the type it names.
     *
     * @return how many examples were checked
     */
    public static int check(Class<?> testClass) {
        Map<String, List<String>> examples = blocks(read(source(testClass.getName(), "src/test/java")));
        if (examples.isEmpty()) {
            throw new AssertionError(testClass.getSimpleName() + " has no '// example: TYPE' block");
        }
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : examples.entrySet()) {
            String type = e.getKey().replaceAll("#\\d+$", "");
            List<String> doc = javadocCode(read(source(type, "src/main/java")));
            if (!containsRun(doc, e.getValue())) {
                problems.add(type + ": the example in its Javadoc differs from the tested code:\n  "
                        + String.join("\n  ", e.getValue()));
            }
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("\n", problems));
        }
        return examples.size();
    }

    /** The code of each example block, by the type it names ({@code Type#2} for a second block of one type). */
    static Map<String, List<String>> blocks(List<String> lines) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (!l.startsWith("// example: ")) {
                continue;
            }
            String type = l.substring("// example: ".length()).strip();
            String key = type;
            for (int n = 2; out.containsKey(key); n++) {
                key = type + "#" + n;
            }
            List<String> code = new ArrayList<>();
            for (i++; i < lines.size() && !lines.get(i).strip().equals("// end"); i++) {
                code.add(lines.get(i));
            }
            if (i == lines.size()) {
                throw new AssertionError("example of " + type + " has no '// end' line");
            }
            out.put(key, dedent(code));
        }
        return out;
    }

    /** The lines of every {@code <pre>{@code ...}</pre>} block of a Javadoc comment in {@code src}, undecorated. */
    static List<String> javadocCode(List<String> src) {
        List<String> out = new ArrayList<>();
        boolean in = false;
        List<String> block = new ArrayList<>();
        for (String line : src) {
            String l = line.strip();
            if (!in && l.equals("* <pre>{@code")) {
                in = true;
                block.clear();
            } else if (in && l.equals("* }</pre>")) {
                in = false;
                out.addAll(dedent(block));
                out.add("");
            } else if (in) {
                String s = line.replaceFirst("^\\s*\\* ?", "");
                block.add(s);
            }
        }
        return out;
    }

    private static boolean containsRun(List<String> haystack, List<String> needle) {
        for (int i = 0; i + needle.size() <= haystack.size(); i++) {
            if (haystack.subList(i, i + needle.size()).equals(needle)) {
                return true;
            }
        }
        return false;
    }

    private static List<String> dedent(List<String> lines) {
        int min = Integer.MAX_VALUE;
        for (String l : lines) {
            if (!l.isBlank()) {
                min = Math.min(min, l.length() - l.stripLeading().length());
            }
        }
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            out.add(l.isBlank() ? "" : l.substring(min).stripTrailing());
        }
        return out;
    }

    /** The source file of a top-level type, in this module or a sibling module (tests run in the module's folder). */
    static Path source(String className, String root) {
        String rel = className.replaceAll("\\$.*", "").replace('.', '/') + ".java";
        Path here = Path.of(root, rel);
        if (Files.isRegularFile(here)) {
            return here;
        }
        try (var modules = Files.list(Path.of(".."))) {
            for (Path m : modules.toList()) {
                Path p = m.resolve(root).resolve(rel);
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no source of " + className + " under " + root);
    }

    private static List<String> read(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
