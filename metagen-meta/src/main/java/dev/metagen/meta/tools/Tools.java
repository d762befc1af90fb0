package dev.metagen.meta.tools;

import dev.metagen.meta.Scope;

/** Calling a tool from a strategy: the call obeys the run's budget and cancellation and is counted as one tool call, with its wall time, in the scope's cost. */
public final class Tools {
    private Tools() {
    }

    /**
     * See {@link Scope#tool}: refused when the run is cancelled or out of budget, interrupted with it.
     *
     * @param scope the caller's scope
     * @param tool the tool
     * @param input its input
     * @return its result
     */
    public static ToolResult call(Scope scope, Tool tool, String input) {
        return scope.tool(() -> tool.run(input));
    }
}
