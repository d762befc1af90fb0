package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Scope;
import dev.metagen.meta.ScopedScorer;

import java.util.Optional;

/**
 * An LM judge (Zheng et al., 2023, "Judging LLM-as-a-judge"): a generator is asked, with a prompt template holding
 * {@code {prompt}} and {@code {candidate}}, to rate the candidate; the last number in its answer is the score
 * ({@code fallback} when it gives none). Its calls are charged to the caller's scope.
 *
 * @param judge the judge generator
 * @param template the judge prompt, with {@code {prompt}} and {@code {candidate}}
 * @param params the judge's parameters
 * @param fallback the score when the answer holds no number
 */
public record LmJudgeScorer(Generator judge, String template, GenerationParams params, double fallback)
        implements ScopedScorer {

    public static final String DEFAULT_TEMPLATE =
            "{prompt}{candidate}\n\nRate the text above from 0 to 10. Rating: ";

    @Override
    public double score(Prompt prompt, Generation candidate, Scope scope) {
        String text = template.replace("{prompt}", prompt.text()).replace("{candidate}", candidate.text());
        Generation verdict = scope.call(judge, Prompt.of(text), params);
        Optional<String> n = AnswerExtractors.lastNumber().extract(verdict.text());
        try {
            return n.map(Double::parseDouble).orElse(fallback);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
