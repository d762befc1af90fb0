package dev.metagen.eval.task;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Scope;
import dev.metagen.meta.score.ScopedVerifier;
import dev.metagen.meta.score.Verifier;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.ToolResult;
import dev.metagen.meta.tools.Tools;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HumanEval (Chen et al., 2021): rows {@code {"task_id", "prompt", "test", "entry_point"}}; the completion (cut at the
 * paper's stop sequences, or the last fenced code block when the output writes one) is appended to the prompt and run
 * with the tests and {@code check(entry_point)} in the {@link Sandbox} (docs/security.md) under the operator's limits.
 * Specs may verify with {@code {"type": "humaneval"}}, which runs the problem's tests.
 */
public final class HumanEvalTask implements Task {
    /** The stop sequences of the HumanEval paper's sampling. */
    static final List<String> STOPS = List.of("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#");
    private static final Pattern FENCE = Pattern.compile("```[a-zA-Z0-9]*\\n(.*?)```", Pattern.DOTALL);

    private final Sandbox sandbox;

    public HumanEvalTask(Sandbox.Limits limits) {
        this.sandbox = Sandbox.python(limits);
    }

    @Override
    public String name() {
        return "humaneval";
    }

    @Override
    public List<Problem> read(Path dataset) {
        List<Problem> out = new ArrayList<>();
        List<Datasets.Row> rows = Datasets.readJsonl(dataset);
        for (int i = 0; i < rows.size(); i++) {
            Datasets.Row r = rows.get(i);
            out.add(new Problem(r.id(i), r.text(dataset, "prompt"), r.text(dataset, "entry_point"), List.of(),
                    Map.of("test", r.text(dataset, "test"), "entry_point", r.text(dataset, "entry_point"),
                            "canonical_solution", r.node().path("canonical_solution").asText(""))));
        }
        return out;
    }

    /** The program run for an output: prompt + completion (or the output's own fenced code) + tests + check call. */
    public static String program(Problem problem, String output) {
        Matcher m = FENCE.matcher(output);
        String code = null;
        while (m.find()) {
            code = m.group(1);
        }
        if (code == null) {
            String completion = output;
            for (String stop : STOPS) {
                int i = completion.indexOf(stop);
                if (i >= 0) {
                    completion = completion.substring(0, i);
                }
            }
            code = problem.prompt() + completion;
        }
        return code + "\n\n" + problem.fields().get("test") + "\n\ncheck(" + problem.fields().get("entry_point") + ")\n";
    }

    @Override
    public Grade grade(Problem problem, String output) {
        ToolResult r = sandbox.run(program(problem, output));
        return new Grade(r.ok() ? "passed" : "failed", r.ok(), r.ok() ? "all tests passed" : r.error());
    }

    @Override
    public Optional<Verifier> verifier(Problem problem) {
        return Optional.of(new TestsVerifier(sandbox, problem));
    }

    /** The problem's unit tests as a verifier and as a scorer (1 / 0); the sandbox runs are charged to the caller's scope either way. */
    private record TestsVerifier(Sandbox sandbox, Problem problem) implements ScopedVerifier {
        @Override
        public Verdict verify(Prompt prompt, Generation candidate, Scope scope) {
            ToolResult r = Tools.call(scope, sandbox, program(problem, candidate.text()));
            return new Verdict(r.ok(), r.ok() ? "all tests passed" : r.error());
        }
    }
}
