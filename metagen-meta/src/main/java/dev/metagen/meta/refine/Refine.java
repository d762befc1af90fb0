package dev.metagen.meta.refine;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.Stopped;
import dev.metagen.meta.score.ScopedVerifier;
import dev.metagen.meta.score.Verifier;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Refinement from external feedback (Welleck et al., 2024, section 4.4; e.g. Reflexion, Shinn et al., 2023, and
 * self-debugging with unit tests, Chen et al., 2023): generate, ask a verifier or tool, and while it rejects, feed its
 * message back through {@code template} ({@code {prompt}}, {@code {candidate}}, {@code {feedback}}) for at most
 * {@code maxRounds} revisions. Returns the accepted candidate, or the last one with {@code accepted = false}.
 */
public final class Refine extends MetaGenerator {
    /** The default revision prompt ({@code {prompt}}, {@code {candidate}}, {@code {feedback}}). */
    public static final String DEFAULT_TEMPLATE = "{prompt}{candidate}\n\nFeedback: {feedback}\n\nRevised answer:\n";

    private final Generator inner;
    private final Verifier verifier;
    private final int maxRounds;
    private final String template;

    /**
     * Refinement of {@code inner}'s answers against {@code verifier}.
     *
     * @param inner the generator
     * @param verifier gives the feedback
     * @param maxRounds the most revisions ({@code >= 0})
     * @param template the revision prompt
     */
    public Refine(Generator inner, Verifier verifier, int maxRounds, String template) {
        if (maxRounds < 0) {
            throw new MetagenException("refine: max_rounds must be >= 0, got " + maxRounds);
        }
        this.inner = inner;
        this.verifier = verifier;
        this.maxRounds = maxRounds;
        this.template = template;
    }

    @Override
    public String name() {
        return "refine";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Map<String, Object>> rounds = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("rounds", rounds);
        Generation current = null;
        try {
            current = scope.call(inner, prompt, Seeds.params(params, 0));
            for (int round = 0; ; round++) {
                Verifier.Verdict v = ScopedVerifier.verify(scope, verifier, prompt, current);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("candidate", current.text());
                row.put("accepted", v.accepted());
                row.put("feedback", v.feedback());
                rounds.add(row);
                if (v.accepted()) {
                    trace.put("accepted", true);
                    return result(scope, current, trace); // a budget-cut answer finishes budget
                }
                if (round == maxRounds) {
                    break;
                }
                String text = template.replace("{prompt}", prompt.text()).replace("{candidate}", current.text())
                        .replace("{feedback}", v.feedback());
                current = scope.call(inner, Prompt.of(text), Seeds.params(params, round + 1));
            }
        } catch (Stopped s) {
            trace.put("accepted", false);
            return partial(current, s, trace);
        }
        trace.put("accepted", false);
        return result(scope, current, trace);
    }
}
