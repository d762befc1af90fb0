package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Scope;
import dev.metagen.meta.ScopedScorer;

import java.util.function.Supplier;

/**
 * A generative verifier (Zhang et al., 2024, "Generative Verifiers: Reward Modeling as Next-Token Prediction"): a
 * language model reads a templated question about the candidate, and the score is the probability of its answering
 * {@code yes}. With {@code normalize} (the default) the probability is renormalised over the two answers,
 * p(yes) / (p(yes) + p(no)), so that probability given to other tokens does not count; without it, it is p(yes) over
 * the whole vocabulary, as the paper reads it. The answer tokens are the first tokens that {@code yes} and {@code no}
 * add after the question. One model call over the question's tokens.
 *
 * @param model the model
 * @param template the template
 * @param yes the yes
 * @param no the no
 * @param normalize the normalize
 * @param parseSpecial the parse special
 */
public record GenerativeVerifier(Supplier<LanguageModel> model, String template, String yes, String no,
                                 boolean normalize, boolean parseSpecial) implements ScopedScorer {

    public static final String DEFAULT_TEMPLATE = "{prompt}{candidate}\n\nIs the answer correct (Yes or No)? Answer:";

    @Override
    public double score(Prompt prompt, Generation candidate, Scope scope) {
        LanguageModel m = model.get();
        String question = ScoringPass.fill(template, prompt.text(), candidate.text());
        int yesId = ScoringPass.nextTokenId(m.tokenizer(), question, yes, parseSpecial, "yes");
        int noId = ScoringPass.nextTokenId(m.tokenizer(), question, no, parseSpecial, "no");
        if (yesId == noId) {
            throw new MetagenException("verifier: yes '" + yes + "' and no '" + no + "' start with the same token " + yesId);
        }
        int[] ids = m.tokenizer().encode(question, true, parseSpecial);
        return ScoringPass.run(scope, 1, ids.length, () -> {
            float[] logits = ScoringPass.logitsAt(m, ids, new int[]{ids.length}).getFirst();
            if (normalize) {
                return new double[]{ScoringPass.pairProbability(logits, yesId, noId)};
            }
            return new double[]{new dev.metagen.core.Logits(logits).probabilities()[yesId]};
        })[0];
    }
}
