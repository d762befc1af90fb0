package dev.metagen.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.re2j.Matcher;
import com.google.re2j.Pattern;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.score.UserRegex;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A user-defined grader over rows {@code {"id", "prompt", "answer"?}}: either a regex (RE2 syntax, linear-time; correct when it matches the
 * output; when the row has an {@code answer} and the regex a group, the first group must equal it) or a shell command
 * (run with {@code sh -c}, the output on stdin and the row in {@code METAGEN_PROBLEM} / {@code METAGEN_ANSWER};
 * exit status 0 means correct; killed after a time limit).
 */
public final class CustomTask implements Task {
    private final Pattern regex;
    private final String command;
    private final Duration timeout;

    private CustomTask(Pattern regex, String command, Duration timeout) {
        this.regex = regex;
        this.command = command;
        this.timeout = timeout;
    }

    public static CustomTask regex(String pattern) {
        try {
            return new CustomTask(UserRegex.compile(pattern), null, null);
        } catch (MetagenException e) {
            throw new MetagenException("--grader regex: " + MetagenException.describe(e));
        }
    }

    public static CustomTask command(String command, Duration timeout) {
        if (command.isBlank()) {
            throw new MetagenException("custom grader: empty command");
        }
        return new CustomTask(null, command, timeout);
    }

    @Override
    public String name() {
        return "custom";
    }

    @Override
    public List<Problem> read(Path dataset) {
        List<Problem> out = new ArrayList<>();
        List<Datasets.Row> rows = Datasets.readJsonl(dataset);
        for (int i = 0; i < rows.size(); i++) {
            Datasets.Row r = rows.get(i);
            JsonNode a = r.node().get("answer");
            out.add(new Problem(r.id(i), r.text(dataset, "prompt"), a == null || a.isNull() ? null : a.asText(), List.of(),
                    Map.of("row", r.node().toString())));
        }
        return out;
    }

    @Override
    public Grade grade(Problem problem, String output) {
        return regex != null ? gradeRegex(problem, output) : gradeCommand(problem, output);
    }

    private Grade gradeRegex(Problem problem, String output) {
        Matcher m = regex.matcher(output);
        if (!m.find()) {
            return new Grade(null, false, "no match for /" + regex.pattern() + "/");
        }
        if (problem.reference() != null && m.groupCount() >= 1 && m.group(1) != null) {
            String a = m.group(1).strip();
            boolean ok = a.equals(problem.reference().strip());
            return new Grade(a, ok, ok ? "matches the answer" : a + " != " + problem.reference());
        }
        return new Grade(m.group(), true, "matches /" + regex.pattern() + "/");
    }

    private Grade gradeCommand(Problem problem, String output) {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true);
        pb.environment().put("METAGEN_PROBLEM", (String) problem.fields().get("row"));
        pb.environment().put("METAGEN_ANSWER", problem.reference() == null ? "" : problem.reference());
        try {
            Process p = pb.start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(output.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the grader may exit without reading its input
            }
            Thread.ofVirtual().start(() -> {
                try {
                    p.getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return new Grade(null, false, "grader command timed out after " + timeout.toMillis() + " ms");
            }
            int rc = p.exitValue();
            return new Grade(rc == 0 ? "accepted" : "rejected", rc == 0, "grader command exited with " + rc);
        } catch (IOException e) {
            throw new MetagenException("custom grader: cannot run '" + command + "': " + MetagenException.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetagenException("custom grader: interrupted");
        }
    }
}
