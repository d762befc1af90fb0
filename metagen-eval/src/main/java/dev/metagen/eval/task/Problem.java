package dev.metagen.eval.task;

import java.util.List;
import java.util.Map;

/**
 * One problem of a dataset.
 *
 * @param id        the dataset's id, or the 0-based line number when rows have none
 * @param prompt    the text given to the strategy
 * @param reference the reference answer (null where a task grades without one, e.g. lexical)
 * @param words     the words a lexical problem must contain (empty elsewhere)
 * @param fields    the row's other fields the task needs (tests, entry point, schema ...)
 */
public record Problem(String id, String prompt, String reference, List<String> words, Map<String, Object> fields)
        implements java.io.Serializable { // shipped to the workers of a distributed sweep
    public Problem {
        words = List.copyOf(words);
        fields = Map.copyOf(fields);
    }
}
