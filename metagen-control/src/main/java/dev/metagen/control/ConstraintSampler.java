package dev.metagen.control;

import dev.metagen.decoding.OutputMask;
import dev.metagen.decoding.sampling.Candidates;

/**
 * A {@link TokenConstraint} as one processor of the sampler chain (llama.cpp's grammar sampler): it masks the
 * candidates outside the current state's allowed set, advances on every chosen token, and ends the output when the
 * constraint allows nothing more. Once {@code closeAfter} of the token limit is spent, only tokens that bring the
 * output strictly closer to completion are allowed ({@link ConstraintState#closing()}), so a budget-limited output
 * still finishes when the budget allows. One instance follows one sequence.
 */
public final class ConstraintSampler implements OutputMask {
    private final TokenConstraint constraint;
    private final double closeAfter;
    private ConstraintState state;
    private boolean closing;

    /**
     * A mask that never closes early.
     *
     * @param start the state the output starts in
     */
    public ConstraintSampler(ConstraintState start) {
        this(null, start, 1.0);
    }

    /**
     * A mask that steers the output to completion late in the budget.
     *
     * @param closeAfter the fraction of {@code maxTokens} after which the output is steered to completion; 1 or more
     *                   disables it
     * @param constraint the constraint (for the closing masks)
     * @param start the state the output starts in
     */
    public ConstraintSampler(TokenConstraint constraint, ConstraintState start, double closeAfter) {
        this.constraint = constraint;
        this.state = start;
        this.closeAfter = closeAfter;
    }

    /** {@return the current constraint state} */
    public ConstraintState state() {
        return state;
    }

    /**
     * Sets the constraint state (a caller that moved the sequence).
     *
     * @param next the new state
     */
    public void state(ConstraintState next) {
        this.state = next;
    }

    /**
     * Advances on the chosen token.
     *
     * @param token the chosen token
     */
    public void accept(int token) {
        state = state.advance(token);
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        if (state.isAllowed(token)) {
            state = state.advance(token);
        }
        // an end-of-generation token is not part of the output: the loop stops before it
    }

    @Override
    public boolean mustEnd() {
        return state.mustEnd();
    }

    @Override
    public boolean isComplete() {
        return state.isComplete();
    }

    @Override
    public void progress(int generated, int maxTokens) {
        closing = closeAfter < 1 && generated >= closeAfter * maxTokens;
    }

    @Override
    public void apply(Candidates c) {
        long[] mask = closing ? state.closing() : state.allowed();
        boolean any = false;
        for (int i = 0; i < c.size(); i++) {
            int id = c.id(i);
            if ((mask[id >>> 6] >>> (id & 63) & 1L) == 0) {
                c.setLogit(i, Float.NEGATIVE_INFINITY);
            } else if (c.logit(i) != Float.NEGATIVE_INFINITY) {
                any = true;
            }
        }
        if (!any) {
            throw new dev.metagen.core.MetagenException("no token of the vocabulary can continue the constrained output");
        }
    }

    @Override
    public String describe() {
        return constraint == null ? "token constraint" : constraint.describe();
    }
}
