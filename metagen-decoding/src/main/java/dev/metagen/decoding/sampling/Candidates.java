package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * The candidate set a sampler chain works on, as in llama.cpp's {@code llama_token_data_array}: token ids with
 * their (adapted) logits, plus the token history (prompt and generated tokens) that penalties look at. Samplers
 * may rescale logits, sort, or drop candidates.
 */
public final class Candidates {
    private static final int[] NO_HISTORY = new int[0];

    private int[] ids;
    private float[] logits;
    private int size;
    private boolean sortedDescending;
    private final int[] history;
    private final int generated;

    private Candidates(int[] ids, float[] logits, int size, int[] history, int generated) {
        this.ids = ids;
        this.logits = logits;
        this.size = size;
        this.history = history;
        this.generated = generated;
    }

    /** All tokens of the vocabulary with the model's logits and no history. */
    public static Candidates of(float[] modelLogits) {
        return of(modelLogits, NO_HISTORY, 0);
    }

    /**
     * All tokens of the vocabulary with the model's logits; NaN or +infinity logits are rejected.
     *
     * @param history   the tokens so far (prompt then generated), oldest first
     * @param generated how many of them were generated (the rest is the prompt)
     */
    public static Candidates of(float[] modelLogits, int[] history, int generated) {
        int n = modelLogits.length;
        if (n == 0) {
            throw new MetagenException("the model returned an empty logit vector");
        }
        int[] ids = new int[n];
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            float v = modelLogits[i];
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                throw new MetagenException("model produced an invalid logit " + v + " for token " + i);
            }
            ids[i] = i;
            l[i] = v;
        }
        return new Candidates(ids, l, n, history, generated);
    }

    public int size() {
        return size;
    }

    public int id(int i) {
        return ids[i];
    }

    public float logit(int i) {
        return logits[i];
    }

    public void setLogit(int i, float v) {
        logits[i] = v;
        sortedDescending = false;
    }

    /** The tokens so far, oldest first (do not modify). */
    public int[] history() {
        return history;
    }

    /** How many tokens of {@link #history()} were generated. */
    public int generated() {
        return generated;
    }

    /** Keeps the first {@code n} candidates (in the current order), at least one. */
    public void truncate(int n) {
        size = Math.max(1, Math.min(size, n));
    }

    /**
     * Keeps the candidates whose index satisfies {@code keep}, in their current order. If none would be kept, the
     * most likely one stays (llama.cpp's and Hugging Face's {@code min_keep = 1}).
     */
    public void retain(IntPredicate keep) {
        int best = argmax();
        int n = 0;
        for (int i = 0; i < size; i++) {
            if (keep.test(i)) {
                ids[n] = ids[i];
                logits[n] = logits[i];
                n++;
            }
        }
        if (n == 0) {
            ids[0] = ids[best];
            logits[0] = logits[best];
            n = 1;
        }
        size = n;
    }

    public boolean isSorted() {
        return sortedDescending;
    }

    /** Sorts by logit, highest first; equal logits keep ascending token id order. */
    public void sortDescending() {
        if (sortedDescending) {
            return;
        }
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(logits[b], logits[a]);
            return c != 0 ? c : Integer.compare(ids[a], ids[b]);
        });
        int[] nIds = new int[size];
        float[] nLogits = new float[size];
        for (int i = 0; i < size; i++) {
            nIds[i] = ids[order[i]];
            nLogits[i] = logits[order[i]];
        }
        ids = nIds;
        logits = nLogits;
        sortedDescending = true;
    }

    /** Softmax over the current candidates, in double precision. */
    public double[] probabilities() {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < size; i++) {
            max = Math.max(max, logits[i]);
        }
        double[] p = new double[size];
        if (max == Double.NEGATIVE_INFINITY) {
            throw new MetagenException("every candidate token is masked (all logits are -infinity)");
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < size; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Shannon entropy (nats) of {@link #probabilities()}. */
    public double entropy() {
        double h = 0;
        for (double p : probabilities()) {
            if (p > 0) {
                h -= p * Math.log(p);
            }
        }
        return h;
    }

    /** Index (into this set) of the highest logit, lowest token id on ties. */
    public int argmax() {
        int best = 0;
        for (int i = 1; i < size; i++) {
            if (logits[i] > logits[best] || (logits[i] == logits[best] && ids[i] < ids[best])) {
                best = i;
            }
        }
        return best;
    }

    /** The probability of token {@code id} in this set, 0 when it was dropped. */
    public double probabilityOf(int id) {
        double[] p = probabilities();
        for (int i = 0; i < size; i++) {
            if (ids[i] == id) {
                return p[i];
            }
        }
        return 0;
    }

    /** A copy of the current candidates (for inspection: tests, traces). */
    public Candidates copy() {
        Candidates c = new Candidates(Arrays.copyOf(ids, size), Arrays.copyOf(logits, size), size, history, generated);
        c.sortedDescending = sortedDescending;
        return c;
    }
}
