package dev.metagen.decoding;

import dev.metagen.core.Generation;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Sequence scoring: the log-likelihood of a given continuation under the model, token by token with the top-K
 * alternatives at each position (as the OpenAI API's {@code echo}+{@code logprobs}); as a {@link Scorer}, a
 * candidate's total log-probability (for rerankers).
 */
public final class SequenceScorer implements Scorer {
    /**
     * Per-token log-probabilities of the continuation, their sum, and the top alternatives at each position.
     *
     * @param tokens the continuation's token ids
     * @param logprobs each token's log-probability
     * @param logprob their sum
     * @param top the top alternatives at each position ({@code token}, {@code text}, {@code logprob})
     */
    public record Scored(int[] tokens, double[] logprobs, double logprob, List<List<Map<String, Object>>> top) {}

    private final LanguageModel model;
    private final boolean addSpecial;

    /**
     * A scorer that adds the model's special tokens to the prompt.
     *
     * @param model the model
     */
    public SequenceScorer(LanguageModel model) {
        this(model, true);
    }

    /**
     * A scorer over {@code model}.
     *
     * @param model the model
     * @param addSpecial whether the prompt gets BOS/EOS as the model asks
     */
    public SequenceScorer(LanguageModel model, boolean addSpecial) {
        this.model = model;
        this.addSpecial = addSpecial;
    }

    /**
     * Scores {@code continuation} after {@code promptIds}, with the {@code topK} alternatives per position.
     *
     * @param promptIds the prompt's token ids
     * @param continuation the continuation's token ids
     * @param topK alternatives recorded per position (0: none)
     * @return the scores
     */
    public Scored score(int[] promptIds, int[] continuation, int topK) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: scoring needs at least one context token (e.g. BOS)");
        }
        int vocab = model.tokenizer().vocabSize();
        for (int t : continuation) {
            if (t < 0 || t >= vocab) {
                throw new MetagenException("continuation token " + t + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (promptIds.length + continuation.length > model.info().contextLength()) {
            throw new MetagenException("prompt and continuation (" + (promptIds.length + continuation.length)
                    + " tokens) exceed the context of " + model.info().contextLength());
        }
        double[] lps = new double[continuation.length];
        List<List<Map<String, Object>>> top = new ArrayList<>();
        double sum = 0;
        try (ModelState s = model.newState()) {
            Logits logits = model.forward(s, promptIds);
            for (int i = 0; i < continuation.length; i++) {
                double[] lp = logits.logProbabilities();
                lps[i] = lp[continuation[i]];
                sum += lps[i];
                if (topK > 0) {
                    top.add(TopLogprobs.of(lp, topK, model.tokenizer()));
                }
                if (i + 1 < continuation.length) {
                    logits = model.forward(s, continuation[i]);
                }
            }
        }
        return new Scored(continuation.clone(), lps, sum, top);
    }

    /**
     * Scores the text {@code continuation} after the text {@code prompt} (the continuation tokenized alone).
     *
     * @param prompt the prompt text
     * @param continuation the continuation text
     * @param topK alternatives recorded per position (0: none)
     * @return the scores
     */
    public Scored score(String prompt, String continuation, int topK) {
        return score(model.tokenizer().encode(prompt, addSpecial), model.tokenizer().encode(continuation, false), topK);
    }

    /** The candidate's log-likelihood given the prompt: its tokens when it has them, else its text. */
    @Override
    public double score(Prompt prompt, Generation candidate) {
        int[] promptIds = model.tokenizer().encode(prompt.text(), addSpecial);
        int[] tokens = candidate.tokens().length > 0 || candidate.text().isEmpty()
                ? candidate.tokens() : model.tokenizer().encode(candidate.text(), false);
        return score(promptIds, tokens, 0).logprob();
    }
}
