package dev.metagen.core;

/** Next-token logits at the last position of a sequence (unnormalised log-probabilities). */
public record Logits(float[] values) {
    public int size() {
        return values.length;
    }

    /** Index of the largest logit; the lowest index wins ties. */
    public int argmax() {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Log-softmax in double precision. */
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

    public double[] probabilities() {
        double[] lp = logProbabilities();
        for (int i = 0; i < lp.length; i++) {
            lp[i] = Math.exp(lp[i]);
        }
        return lp;
    }
}
