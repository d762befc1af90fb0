package dev.metagen.decoding.sampling;

import dev.metagen.core.MetagenException;

import java.util.Arrays;

/**
 * The candidate set a sampler chain works on, as in llama.cpp's {@code llama_token_data_array}: token ids with
 * their (adapted) logits. Samplers may rescale logits, sort, or truncate to a prefix.
 */
public final class Candidates {
    private int[] ids;
    private float[] logits;
    private int size;
    private boolean sortedDescending;

    private Candidates(int[] ids, float[] logits, int size) {
        this.ids = ids;
        this.logits = logits;
        this.size = size;
    }

    /** All tokens of the vocabulary with the model's logits; NaN or +infinity logits are rejected. */
    public static Candidates of(float[] modelLogits) {
        int n = modelLogits.length;
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
        return new Candidates(ids, l, n);
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

    /** Keeps the first {@code n} candidates (in the current order). */
    public void truncate(int n) {
        size = Math.max(1, Math.min(size, n));
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
}
