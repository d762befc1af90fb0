package dev.metagen.decoding.speculative;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.SplittableRandom;

/**
 * A small draft model with the target's vocabulary proposes k tokens autoregressively (Leviathan et al. 2023;
 * Chen et al. 2023): greedily when the target is greedy, otherwise by sampling from the target's adapters applied
 * to its own logits. Its state follows the accepted text by truncating to the longest common prefix.
 */
public final class DraftModelSource implements DraftSource {
    private final LanguageModel draft;
    private final SplittableRandom random;
    private ModelState state;
    private long forwards;
    private long promptTokens;

    /**
     * Drafts with {@code draft}; {@code seed} drives its own draws when sampling.
     *
     * @param draft the draft model
     * @param seed the seed of its draws
     */
    public DraftModelSource(LanguageModel draft, long seed) {
        this.draft = draft;
        this.random = new SplittableRandom(seed);
    }

    /**
     * Checks that the draft's vocabulary matches the target's (same size; the ids must mean the same text).
     *
     * @param target the target model
     */
    public void checkVocabulary(LanguageModel target) {
        int a = draft.tokenizer().vocabSize();
        int b = target.tokenizer().vocabSize();
        if (a != b) {
            throw new MetagenException("draft model " + draft.info().name() + " has " + a
                    + " tokens but the target " + target.info().name() + " has " + b + ": they must share a vocabulary");
        }
    }

    @Override
    public Draft propose(int[] context, int k, TargetDistribution target) {
        if (k <= 0 || context.length == 0) {
            return Draft.EMPTY;
        }
        if (state == null) {
            state = draft.newState();
        }
        int ctx = draft.info().contextLength();
        k = Math.min(k, ctx - context.length);
        if (k <= 0) {
            return Draft.EMPTY;
        }
        // keep what the cache already holds of the context, and refeed at least the last token for its logits
        int[] have = state.tokens();
        int common = 0;
        int limit = Math.min(have.length, context.length - 1);
        while (common < limit && have[common] == context[common]) {
            common++;
        }
        state.truncate(common);
        int[] rest = java.util.Arrays.copyOfRange(context, common, context.length);
        if (forwards == 0) {
            promptTokens += rest.length; // the draft's own prefill of the prompt
        }
        Logits logits = draft.forward(state, rest);
        forwards++;
        int[] tokens = new int[k];
        double[][] q = target == null ? null : new double[k][];
        for (int i = 0; i < k; i++) {
            if (target == null) {
                tokens[i] = logits.argmax();
            } else {
                q[i] = target.probabilities(logits.values());
                tokens[i] = draw(q[i], random);
            }
            if (i + 1 < k) {
                if (Thread.currentThread().isInterrupted()) {
                    // cancelled: the target checks what is drafted so far, then stops
                    return new Draft(java.util.Arrays.copyOf(tokens, i + 1), q == null ? null : java.util.Arrays.copyOf(q, i + 1));
                }
                logits = draft.forward(state, tokens[i]);
                forwards++;
            }
        }
        return new Draft(tokens, q);
    }

    /** Inverse-CDF draw from a probability vector. */
    static int draw(double[] p, SplittableRandom random) {
        double u = random.nextDouble();
        double cum = 0;
        int lastPositive = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cum += p[i];
                lastPositive = i;
                if (u < cum) {
                    return i;
                }
            }
        }
        return lastPositive; // rounding left u above the total
    }

    @Override
    public dev.metagen.core.Cost cost() {
        return new dev.metagen.core.Cost(promptTokens, 0, forwards, 0, java.time.Duration.ZERO);
    }

    /** One forward to catch up with the context (its logits give the first draft), then one per further token. */
    @Override
    public long maxCallsPerProposal(int k) {
        return Math.max(k, 0);
    }

    @Override
    public String describe() {
        return "draft model " + draft.info().name();
    }

    @Override
    public void close() {
        if (state != null) {
            state.close();
            state = null;
        }
    }
}
