package dev.metagen.eval.task;

import dev.metagen.meta.score.Verifier;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A task: how to read its dataset, how to turn a problem into a prompt, and how to grade an output. */
public interface Task {
    String name();

    /** Reads the dataset in its own format; bad rows give a one-line {@code MetagenException} naming the line. */
    List<Problem> read(Path dataset);

    Grade grade(Problem problem, String output);

    /**
     * A verifier bound to {@code problem} that strategy specs may use as {@code {"type": NAME}} (e.g. the lexical
     * task's word check, HumanEval's unit tests); empty where the task has none a strategy could honestly use.
     */
    default Optional<Verifier> verifier(Problem problem) {
        return Optional.empty();
    }
}
