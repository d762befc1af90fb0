package dev.metagen.core;

/**
 * Next-token logits at the last position of a sequence (unnormalised log-probabilities).
 *
 * @param values one logit per vocabulary entry
 */
public record Logits(float[] values) {
    /**
     * The vocabulary size.
     *
     * @return the number of logits
     */
    public int size() {
        return values.length;
    }

    /**
     * Index of the largest logit; the lowest index wins ties.
     *
     * @return the token id
     */
    public int argmax() {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Log-softmax in double precision.
     *
     * @return one log-probability per token
     */
    public double[] logProbabilities() {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : values) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : values) {
            sum += Math.exp(v - max);
        }
        double logZ = max + Math.log(sum);
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] - logZ;
        }
        return out;
    }

    /**
     * Softmax in double precision.
     *
     * @return one probability per token
     */
    public double[] probabilities() {
        double[] lp = logProbabilities();
        for (int i = 0; i < lp.length; i++) {
            lp[i] = Math.exp(lp[i]);
        }
        return lp;
    }
}
