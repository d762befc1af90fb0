package dev.metagen.eval.task;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * MATH-500 (Lightman et al., 2023's subset of MATH, Hendrycks et al., 2021): rows {@code {"problem", "answer"}}
 * (and {@code solution}, {@code unique_id}); the output's last {@code \boxed{}} is compared with the answer by
 * {@link MathAnswers#equivalent}.
 */
public final class Math500Task implements Task {
    static final String TEMPLATE = "Problem: %s\nPut the final answer in \\boxed{}.\nSolution:";

    @Override
    public String name() {
        return "math500";
    }

    @Override
    public List<Problem> read(Path dataset) {
        List<Problem> out = new ArrayList<>();
        List<Datasets.Row> rows = Datasets.readJsonl(dataset);
        for (int i = 0; i < rows.size(); i++) {
            Datasets.Row r = rows.get(i);
            String id = r.node().hasNonNull("unique_id") ? r.node().get("unique_id").asText() : r.id(i);
            String solution = r.node().path("solution").asText("");
            out.add(new Problem(id, TEMPLATE.formatted(r.text(dataset, "problem")), r.text(dataset, "answer"),
                    List.of(), Map.of("solution", solution)));
        }
        return out;
    }

    @Override
    public Grade grade(Problem problem, String output) {
        Optional<String> a = MathAnswers.extract(output);
        if (a.isEmpty()) {
            return new Grade(null, false, "no answer in the output");
        }
        boolean ok = MathAnswers.equivalent(a.get(), problem.reference());
        return new Grade(a.get(), ok, ok ? "equivalent to " + problem.reference() : a.get() + " is not " + problem.reference());
    }
}
