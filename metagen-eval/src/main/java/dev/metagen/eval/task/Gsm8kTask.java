package dev.metagen.eval.task;

import dev.metagen.core.MetagenException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * GSM8K grade-school math (Cobbe et al., 2021): rows {@code {"question", "answer"}} whose answer ends in
 * {@code #### N}; an output is correct when its final number (the first after its last {@code ####} if it writes one, else its last
 * number) equals N numerically, as in the paper's evaluation.
 */
public final class Gsm8kTask implements Task {
    static final String TEMPLATE = "Question: %s\nAnswer:";

    @Override
    public String name() {
        return "gsm8k";
    }

    @Override
    public List<Problem> read(Path dataset) {
        List<Problem> out = new ArrayList<>();
        List<Datasets.Row> rows = Datasets.readJsonl(dataset);
        for (int i = 0; i < rows.size(); i++) {
            Datasets.Row r = rows.get(i);
            String answer = r.text(dataset, "answer");
            Optional<String> ref = reference(answer);
            if (ref.isEmpty()) {
                throw new MetagenException(dataset + ":" + r.line() + ": answer has no '#### N' final answer");
            }
            out.add(new Problem(r.id(i), TEMPLATE.formatted(r.text(dataset, "question")), ref.get(), List.of(),
                    Map.of("solution", answer)));
        }
        return out;
    }

    /** The number after {@code ####} in a GSM8K answer. */
    public static Optional<String> reference(String answer) {
        int i = answer.lastIndexOf("####");
        return i < 0 ? Optional.empty() : Numbers.last(answer.substring(i + 4));
    }

    /** The final answer of an output: the first number after its last {@code ####} when it writes one, else its last number. */
    public static Optional<String> extract(String output) {
        int i = output.lastIndexOf("####");
        if (i >= 0) {
            Optional<String> a = Numbers.first(output.substring(i + 4));
            if (a.isPresent()) {
                return a;
            }
        }
        return Numbers.last(output);
    }

    @Override
    public Grade grade(Problem problem, String output) {
        Optional<String> a = extract(output);
        if (a.isEmpty()) {
            return new Grade(null, false, "no number in the output");
        }
        boolean ok = Numbers.same(a.get(), problem.reference());
        return new Grade(a.get(), ok, ok ? "matches " + problem.reference() : a.get() + " != " + problem.reference());
    }
}
