package dev.metagen.meta.score;

import java.util.Optional;

/** Pulls the final answer out of a candidate's text, so that differently worded candidates can vote together. */
@FunctionalInterface
public interface AnswerExtractor {
    /**
     * The answer in {@code text}.
     *
     * @param text a candidate's text
     * @return the answer, or empty when there is none
     */
    Optional<String> extract(String text);
}
