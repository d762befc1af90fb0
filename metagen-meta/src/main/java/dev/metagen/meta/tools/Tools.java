package dev.metagen.meta.tools;

import dev.metagen.core.Cost;
import dev.metagen.meta.Scope;

import java.time.Duration;

/** Calling a tool from a strategy: the call is counted as one tool call, with its wall time, in the scope's cost. */
public final class Tools {
    private Tools() {
    }

    public static ToolResult call(Scope scope, Tool tool, String input) {
        long t0 = System.nanoTime();
        ToolResult r = tool.run(input);
        scope.charge(new Cost(0, 0, 0, 1, Duration.ofNanos(System.nanoTime() - t0)));
        return r;
    }
}
