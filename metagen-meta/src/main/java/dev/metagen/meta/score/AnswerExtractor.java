package dev.metagen.meta.score;

import java.util.Optional;

/** Pulls the final answer out of a candidate's text, so that differently worded candidates can vote together. */
@FunctionalInterface
public interface AnswerExtractor {
    Optional<String> extract(String text);
}
