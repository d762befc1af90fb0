package dev.metagen.meta.search;

import dev.metagen.core.MetagenException;

import com.google.re2j.Pattern;

/**
 * How solutions are split into steps. A step ends at {@code delimiter} (passed to the inner generator as a stop
 * string, then re-appended to the path) or after {@code stepMaxTokens}. A path is complete when a step comes back
 * empty (the model ended the text), when a step ran out of tokens before its limit (context, caller's limit or
 * budget), when the path holds the caller's {@code maxTokens}, when {@code finalPattern} (RE2/J, see UserRegex) matches the path, or at
 * {@code maxSteps}.
 *
 * @param delimiter the step delimiter, e.g. a newline
 * @param stepMaxTokens the most tokens of one step
 * @param maxSteps the most steps of a path
 * @param finalPattern a pattern that marks a complete path, or null
 */
public record StepConfig(String delimiter, int stepMaxTokens, int maxSteps, Pattern finalPattern) {
    /** Checks the settings. */
    public StepConfig {
        if (delimiter == null || delimiter.isEmpty()) {
            throw new MetagenException("step delimiter must not be empty");
        }
        if (stepMaxTokens < 1 || maxSteps < 1) {
            throw new MetagenException("step_max_tokens and max_steps must be >= 1, got " + stepMaxTokens + " and " + maxSteps);
        }
    }

    /**
     * Steps are lines.
     *
     * @param stepMaxTokens the most tokens of one step
     * @param maxSteps the most steps of a path
     * @return the configuration
     */
    public static StepConfig lines(int stepMaxTokens, int maxSteps) {
        return new StepConfig("\n", stepMaxTokens, maxSteps, null);
    }
}
