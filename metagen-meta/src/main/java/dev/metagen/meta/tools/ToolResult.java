package dev.metagen.meta.tools;

import java.util.Map;

/**
 * What a tool call produced: {@code ok} is false when the tool failed or was stopped; {@code output} is its result
 * (or what it printed), {@code error} one line saying why it failed, {@code detail} tool-specific facts.
 */
public record ToolResult(boolean ok, String output, String error, Map<String, Object> detail) {
    public ToolResult {
        detail = Map.copyOf(detail);
    }

    public static ToolResult ok(String output) {
        return new ToolResult(true, output, "", Map.of());
    }

    public static ToolResult failed(String error) {
        return new ToolResult(false, "", error, Map.of());
    }
}
