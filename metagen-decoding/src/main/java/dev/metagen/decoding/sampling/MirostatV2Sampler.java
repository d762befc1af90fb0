package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Mirostat 2 (Basu et al., 2021, as in llama.cpp's {@code mirostat_v2}): drop tokens whose surprise
 * {@code -log2 p} exceeds μ (keeping at least one), and after each draw move μ by {@code -eta * (surprise - tau)}.
 */
public final class MirostatV2Sampler implements Sampler {
    private final double tau;
    private final double eta;
    private double mu;

    /**
     * Mirostat 2 at target surprise {@code tau}.
     *
     * @param tau the target surprise ({@code > 0})
     * @param eta the learning rate ({@code > 0})
     */
    public MirostatV2Sampler(double tau, double eta) {
        if (!(tau > 0) || Double.isInfinite(tau)) {
            throw new MetagenException("mirostat tau must be a finite number > 0, got " + tau);
        }
        if (!(eta > 0) || Double.isInfinite(eta)) {
            throw new MetagenException("mirostat eta must be a finite number > 0, got " + eta);
        }
        this.tau = tau;
        this.eta = eta;
        this.mu = 2 * tau;
    }

    /** {@return the current target surprise bound μ} */
    public double mu() {
        return mu;
    }

    @Override
    public void apply(Candidates c) {
        double[] p = c.probabilities();
        double log2 = Math.log(2);
        c.retain(i -> -Math.log(p[i]) / log2 <= mu);
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        double surprise = -Math.log(chosenFrom.probabilityOf(token)) / Math.log(2);
        mu -= eta * (surprise - tau);
    }
}
