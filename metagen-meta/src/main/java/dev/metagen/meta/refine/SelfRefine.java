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

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import com.google.re2j.Pattern;

/**
 * Self-Refine (Madaan et al., 2023): the model drafts an answer, critiques it with {@code feedbackTemplate}, and revises
 * it with {@code refineTemplate}, until the feedback matches {@code stopPattern} (e.g. "no issues") or after
 * {@code maxRounds} revisions; the last revision is returned. Templates use {@code {prompt}}, {@code {candidate}},
 * {@code {feedback}}.
 */
public final class SelfRefine extends MetaGenerator {
    /** The default critique prompt ({@code {prompt}}, {@code {candidate}}). */
    public static final String FEEDBACK_TEMPLATE = "{prompt}{candidate}\n\nWhat could be improved in the text above? "
            + "If nothing, say \"no issues\".\nFeedback:";
    /** The default revision prompt ({@code {prompt}}, {@code {candidate}}, {@code {feedback}}). */
    public static final String REFINE_TEMPLATE = "{prompt}{candidate}\n\nFeedback:{feedback}\n\nImproved text:\n";

    private final Generator inner;
    private final Generator critic;
    private final int maxRounds;
    private final String feedbackTemplate;
    private final String refineTemplate;
    private final Pattern stopPattern;
    private final GenerationParams criticParams;

    /**
     * Self-Refine with {@code inner} drafting and revising and {@code critic} giving feedback.
     *
     * @param inner drafts and revises
     * @param critic gives the feedback
     * @param maxRounds the most revisions ({@code >= 0})
     * @param feedbackTemplate the critique prompt
     * @param refineTemplate the revision prompt
     * @param stopPattern feedback matching it ends the loop
     * @param criticParams the critic's parameters
     */
    public SelfRefine(Generator inner, Generator critic, int maxRounds, String feedbackTemplate, String refineTemplate,
                      Pattern stopPattern, GenerationParams criticParams) {
        if (maxRounds < 0) {
            throw new MetagenException("self_refine: max_rounds must be >= 0, got " + maxRounds);
        }
        this.inner = inner;
        this.critic = critic;
        this.maxRounds = maxRounds;
        this.feedbackTemplate = feedbackTemplate;
        this.refineTemplate = refineTemplate;
        this.stopPattern = stopPattern;
        this.criticParams = criticParams;
    }

    @Override
    public String name() {
        return "self_refine";
    }

    private static String fill(String template, Prompt p, String candidate, String feedback) {
        return template.replace("{prompt}", p.text()).replace("{candidate}", candidate).replace("{feedback}", feedback);
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Map<String, Object>> rounds = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("rounds", rounds);
        Generation current = null;
        String stopReason = "max_rounds";
        try {
            current = scope.call(inner, prompt, Seeds.params(params, 0));
            for (int round = 0; round < maxRounds; round++) {
                Generation fb = scope.call(critic, Prompt.of(fill(feedbackTemplate, prompt, current.text(), "")),
                        Seeds.params(criticParams, round));
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("candidate", current.text());
                row.put("feedback", fb.text());
                rounds.add(row);
                if (stopPattern.matcher(fb.text()).find()) {
                    stopReason = "feedback";
                    break;
                }
                current = scope.call(inner, Prompt.of(fill(refineTemplate, prompt, current.text(), fb.text())),
                        Seeds.params(params, round + 1));
            }
        } catch (Stopped s) {
            return partial(current, s, trace);
        }
        trace.put("stopped_by", stopReason);
        trace.put("revisions", rounds.size() - (stopReason.equals("feedback") ? 1 : 0));
        return result(scope, current, trace);
    }
}
