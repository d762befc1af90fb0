package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

/**
 * Mirostat 1 (Basu et al., 2021, "Mirostat: A Neural Text Decoding Algorithm that Directly Controls
 * Perplexity", Algorithm 1): estimate the Zipf exponent s from the top {@code m} probabilities, keep the top
 * {@code k = ((ε 2^μ) / (1 - N^-ε))^(1/s)} tokens (ε = s - 1), and after each draw move μ by
 * {@code -eta * (surprise - tau)}, the surprise being {@code -log2 p} of the chosen token.
 */
public final class MirostatSampler implements Sampler {
    private final double tau;
    private final double eta;
    private final int m;
    private double mu;

    /**
     * Mirostat 1 at target surprise {@code tau}.
     *
     * @param tau the target surprise ({@code > 0})
     * @param eta the learning rate ({@code > 0})
     * @param m the number of top tokens used to estimate the Zipf exponent ({@code >= 2}; llama.cpp uses 100)
     */
    public MirostatSampler(double tau, double eta, int m) {
        if (!(tau > 0) || Double.isInfinite(tau)) {
            throw new MetagenException("mirostat tau must be a finite number > 0, got " + tau);
        }
        if (!(eta > 0) || Double.isInfinite(eta)) {
            throw new MetagenException("mirostat eta must be a finite number > 0, got " + eta);
        }
        if (m < 2) {
            throw new MetagenException("mirostat m must be >= 2, got " + m);
        }
        this.tau = tau;
        this.eta = eta;
        this.m = m;
        this.mu = 2 * tau;
    }

    /**
     * The current target surprise bound μ.
     *
     * @return μ
     */
    public double mu() {
        return mu;
    }

    @Override
    public void apply(Candidates c) {
        int n = c.size();
        c.sortDescending();
        double[] p = c.probabilities();
        // least-squares estimate of s over log((i+2)/(i+1)) vs log(p_i / p_{i+1})
        double num = 0;
        double den = 0;
        for (int i = 0; i < Math.min(m, n) - 1; i++) {
            if (p[i + 1] <= 0) {
                break;
            }
            double t = Math.log((i + 2.0) / (i + 1.0));
            double b = Math.log(p[i] / p[i + 1]);
            num += t * b;
            den += t * t;
        }
        if (den == 0) {
            return;
        }
        double s = num / den;
        double eps = s - 1;
        double k = Math.pow(eps * Math.pow(2, mu) / (1 - Math.pow(n, -eps)), 1 / s);
        // truncated to an int as llama.cpp does; N is the candidate count, the vocabulary when mirostat follows temperature only
        int keep = Double.isNaN(k) ? 1 : (int) Math.max(1, Math.min(n, Math.floor(k)));
        c.truncate(keep);
    }

    @Override
    public void accept(int token, Candidates chosenFrom) {
        double surprise = -Math.log(chosenFrom.probabilityOf(token)) / Math.log(2);
        mu -= eta * (surprise - tau);
    }
}
