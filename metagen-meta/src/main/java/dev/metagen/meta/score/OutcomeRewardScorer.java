package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.core.ScoreHead;
import dev.metagen.meta.Scope;
import dev.metagen.meta.ScopedScorer;

import java.util.function.Supplier;

/**
 * An outcome reward model (Cobbe et al., 2021, "Training verifiers to solve math word problems"): the score head of
 * a reward model on prompt and candidate ({@code template} with {@code {prompt}} and {@code {candidate}}), the output
 * named {@code label}, pooled at the last token. Each score is one model call over the templated text's tokens.
 *
 * @param model the model
 * @param template the template
 * @param label the label
 * @param parseSpecial the parse special
 */
public record OutcomeRewardScorer(Supplier<LanguageModel> model, String template, String label, boolean parseSpecial)
        implements ScopedScorer {

    public static final String DEFAULT_TEMPLATE = "{prompt}{candidate}";

    @Override
    public double score(Prompt prompt, Generation candidate, Scope scope) {
        LanguageModel m = model.get();
        ScoreHead head = ScoringPass.head(m, "orm");
        int index = ScoringPass.labelIndex(head.labels(), label);
        int[] ids = m.tokenizer().encode(ScoringPass.fill(template, prompt.text(), candidate.text()), true, parseSpecial);
        return ScoringPass.run(scope, 1, ids.length, () -> new double[]{head.score(ids)[index]})[0];
    }
}
