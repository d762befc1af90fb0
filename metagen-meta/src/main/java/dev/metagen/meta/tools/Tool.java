package dev.metagen.meta.tools;

/** An external tool a chain or verifier can call; each call is counted as a tool call in {@code Cost}. */
public interface Tool {
    /**
     * The tool's name, as specs and traces call it.
     *
     * @return the name
     */
    String name();

    /**
     * Runs the tool; failures of the tool's input are reported in the result, not thrown.
     *
     * @param input the tool's input
     * @return the result
     */
    ToolResult run(String input);
}
