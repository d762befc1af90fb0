package dev.metagen.eval.task;

import dev.metagen.core.MetagenException;
import dev.metagen.meta.tools.Sandbox;

import java.time.Duration;

/** Looks tasks up by name ({@code gsm8k}, {@code math500}, {@code humaneval}, {@code json}, {@code lexical}, {@code custom}). */
public final class Tasks {
    public static final String NAMES = "gsm8k, math500, humaneval, json, lexical, custom";

    private Tasks() {
    }

    /**
     * @param grader for {@code custom}: {@code regex:PATTERN} or {@code command:SHELL COMMAND}; null elsewhere
     */
    public static Task byName(String name, String grader) {
        return byName(name, grader, Sandbox.Limits.DEFAULT);
    }

    /**
     * @param grader        for {@code custom}: {@code regex:PATTERN} or {@code command:SHELL COMMAND}; null elsewhere
     * @param sandboxLimits the limits humaneval's tests run under
     */
    public static Task byName(String name, String grader, Sandbox.Limits sandboxLimits) {
        if (grader != null && !name.equals("custom")) {
            throw new MetagenException("--grader is only for --task custom");
        }
        return switch (name) {
            case "gsm8k" -> new Gsm8kTask();
            case "math500" -> new Math500Task();
            case "humaneval" -> new HumanEvalTask(sandboxLimits);
            case "json" -> new JsonSchemaTask();
            case "lexical" -> new LexicalTask();
            case "custom" -> custom(grader);
            default -> throw new MetagenException("unknown task '" + name + "' (known: " + NAMES + ")");
        };
    }

    private static Task custom(String grader) {
        if (grader == null) {
            throw new MetagenException("--task custom needs --grader regex:PATTERN or --grader command:COMMAND");
        }
        if (grader.startsWith("regex:")) {
            return CustomTask.regex(grader.substring(6));
        }
        if (grader.startsWith("command:")) {
            return CustomTask.command(grader.substring(8), Duration.ofSeconds(10));
        }
        throw new MetagenException("--grader must start with 'regex:' or 'command:', got '" + grader + "'");
    }
}
