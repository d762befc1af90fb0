package dev.metagen.meta.tools;

import java.util.Map;

/**
 * What a tool call produced: {@code ok} is false when the tool failed or was stopped; {@code output} is its result
 * (or what it printed), {@code error} one line saying why it failed, {@code detail} tool-specific facts.
 *
 * @param ok whether the tool succeeded
 * @param output its result or what it printed
 * @param error why it failed ("" when it did not)
 * @param detail tool-specific facts (exit code, limits hit ...)
 */
public record ToolResult(boolean ok, String output, String error, Map<String, Object> detail) {
    /** Copies the detail. */
    public ToolResult {
        detail = Map.copyOf(detail);
    }

    /**
     * A success.
     *
     * @param output the tool's result
     * @return the result
     */
    public static ToolResult ok(String output) {
        return new ToolResult(true, output, "", Map.of());
    }

    /**
     * A failure.
     *
     * @param error one line saying why
     * @return the result
     */
    public static ToolResult failed(String error) {
        return new ToolResult(false, "", error, Map.of());
    }
}
