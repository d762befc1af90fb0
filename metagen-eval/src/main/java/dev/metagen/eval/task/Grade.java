package dev.metagen.eval.task;

/**
 * The grade of one output.
 *
 * @param answer  what was extracted from the output (null when nothing could be)
 * @param correct whether it matches the reference / passes the checks
 * @param detail  a one-line reason (e.g. the failing assertion, the missing words)
 */
public record Grade(String answer, boolean correct, String detail) {
}
