package dev.metagen.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.score.ContainsWordsVerifier;
import dev.metagen.meta.score.Verifier;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Lexically constrained generation (as in CommonGen, Lin et al., 2020): rows {@code {"id", "prompt", "words"}}; an
 * output is correct when it contains every word (whole words, case-insensitive). Strategy specs may verify with
 * {@code {"type": "lexical"}}, which checks the current problem's words: a perfect verifier for this task.
 */
public final class LexicalTask implements Task {
    @Override
    public String name() {
        return "lexical";
    }

    @Override
    public List<Problem> read(Path dataset) {
        List<Problem> out = new ArrayList<>();
        List<Datasets.Row> rows = Datasets.readJsonl(dataset);
        for (int i = 0; i < rows.size(); i++) {
            Datasets.Row r = rows.get(i);
            JsonNode w = r.node().get("words");
            if (w == null || !w.isArray() || w.isEmpty()) {
                throw new MetagenException(dataset + ":" + r.line() + ": 'words' must be a non-empty array of strings");
            }
            List<String> words = new ArrayList<>();
            for (JsonNode x : w) {
                if (!x.isTextual() || x.asText().isBlank()) {
                    throw new MetagenException(dataset + ":" + r.line() + ": 'words' must be a non-empty array of strings");
                }
                words.add(x.asText());
            }
            out.add(new Problem(r.id(i), r.text(dataset, "prompt"), String.join(" ", words), words, Map.of()));
        }
        return out;
    }

    @Override
    public Grade grade(Problem problem, String output) {
        List<String> missing = new ContainsWordsVerifier(problem.words()).missing(output);
        return new Grade(missing.isEmpty() ? "all words" : "missing " + String.join(",", missing), missing.isEmpty(),
                missing.isEmpty() ? "contains " + String.join(", ", problem.words()) : "missing words: " + String.join(", ", missing));
    }

    @Override
    public Optional<Verifier> verifier(Problem problem) {
        return Optional.of(new ContainsWordsVerifier(problem.words()));
    }
}
