package dev.metagen.decoding.guidance;

import dev.metagen.core.MetagenException;
import dev.metagen.decoding.sampling.Candidates;

/** Log-softmax of a candidate set's logits, in double precision. */
final class LogSoftmax {
    private LogSoftmax() {}

    static double[] of(Candidates c) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < c.size(); i++) {
            max = Math.max(max, c.logit(i));
        }
        if (max == Double.NEGATIVE_INFINITY) {
            throw new MetagenException("every candidate token is masked (all logits are -infinity)");
        }
        double sum = 0;
        for (int i = 0; i < c.size(); i++) {
            sum += Math.exp(c.logit(i) - max);
        }
        double logZ = max + Math.log(sum);
        double[] out = new double[c.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = c.logit(i) - logZ;
        }
        return out;
    }
}
