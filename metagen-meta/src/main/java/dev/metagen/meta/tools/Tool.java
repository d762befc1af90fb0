package dev.metagen.meta.tools;

/** An external tool a chain or verifier can call; each call is counted as a tool call in {@code Cost}. */
public interface Tool {
    String name();

    /** Runs the tool; failures of the tool's input are reported in the result, not thrown. */
    ToolResult run(String input);
}
