package dev.metagen.decoding.guidance;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.decoding.sampling.Candidates;

/**
 * A second model (or a second context of the same model) that follows the generation token by token, so that an
 * adapter can combine its next-token log-probabilities with the main model's. A token is fed when the next
 * distribution is asked for, so the last token of a generation costs no forward (as in the main model's loop).
 */
final class AuxiliaryModel implements AutoCloseable {
    private final LanguageModel model;
    private final String role;
    private ModelState state;
    private double[] logprobs;
    private long promptTokens;
    private long forwards;
    private int pending = -1;

    AuxiliaryModel(LanguageModel model, String role) {
        this.model = model;
        this.role = role;
    }

    /** Starts a fresh context holding {@code prefix}. */
    void begin(int[] prefix) {
        if (prefix.length == 0) {
            throw new MetagenException("the " + role + " context is empty: it needs at least one token (e.g. BOS)");
        }
        int vocab = model.tokenizer().vocabSize();
        for (int id : prefix) {
            if (id < 0 || id >= vocab) {
                throw new MetagenException("the " + role + " model's vocabulary (" + vocab + " tokens) has no token " + id
                        + ": the models must share a vocabulary");
            }
        }
        close();
        pending = -1;
        state = model.newState();
        logprobs = model.forward(state, prefix).logProbabilities();
        promptTokens += prefix.length;
        forwards++;
    }

    void advance(int token) {
        if (state == null) {
            throw new MetagenException("the " + role + " model was used before the prompt was given (begin was not called)");
        }
        if (pending >= 0) {
            feedPending();
        }
        pending = token;
    }

    private void feedPending() {
        logprobs = model.forward(state, pending).logProbabilities();
        pending = -1;
        forwards++;
    }

    /** The prompt tokens and forwards this context has cost. */
    dev.metagen.core.Cost cost() {
        return new dev.metagen.core.Cost(promptTokens, 0, forwards, 0, java.time.Duration.ZERO);
    }

    /** Its next-token log-probabilities, checked against the candidate set's vocabulary. */
    double[] logprobs(Candidates c) {
        if (pending >= 0 && state != null) {
            feedPending();
        }
        if (logprobs == null) {
            throw new MetagenException("the " + role + " model was used before the prompt was given (begin was not called)");
        }
        for (int i = 0; i < c.size(); i++) {
            if (c.id(i) >= logprobs.length) {
                throw new MetagenException("the " + role + " model's vocabulary (" + logprobs.length
                        + " tokens) is smaller than the main model's: token " + c.id(i) + " has no probability");
            }
        }
        return logprobs;
    }

    @Override
    public void close() {
        if (state != null) {
            state.close();
            state = null;
        }
    }
}
