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

    /**
     * All tokens of the vocabulary with the model's logits and no history.
     *
     * @param modelLogits one logit per vocabulary entry
     * @return the candidates
     */
    public static Candidates of(float[] modelLogits) {
        return of(modelLogits, NO_HISTORY, 0);
    }

    /**
     * All tokens of the vocabulary with the model's logits; NaN or +infinity logits are rejected.
     *
     * @param history   the tokens so far (prompt then generated), oldest first
     * @param generated how many of them were generated (the rest is the prompt)
     * @param modelLogits one logit per vocabulary entry
     * @return the candidates
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

    /** {@return the number of candidates left} */
    public int size() {
        return size;
    }

    /**
     * The token id of candidate {@code i}.
     *
     * @param i an index into this set
     * @return the token id
     */
    public int id(int i) {
        return ids[i];
    }

    /**
     * The current logit of candidate {@code i}.
     *
     * @param i an index into this set
     * @return the logit
     */
    public float logit(int i) {
        return logits[i];
    }

    /**
     * Sets the logit of candidate {@code i} (the set is then no longer known to be sorted).
     *
     * @param i an index into this set
     * @param v the new logit
     */
    public void setLogit(int i, float v) {
        logits[i] = v;
        sortedDescending = false;
    }

    /**
     * The tokens so far, oldest first (do not modify).
     *
     * @return the history
     */
    public int[] history() {
        return history;
    }

    /**
     * How many tokens of {@link #history()} were generated.
     *
     * @return the count
     */
    public int generated() {
        return generated;
    }

    /**
     * Keeps the first {@code n} candidates (in the current order), at least one.
     *
     * @param n how many to keep
     */
    public void truncate(int n) {
        size = Math.max(1, Math.min(size, n));
    }

    /**
     * Keeps the candidates whose index satisfies {@code keep}, in their current order. If none would be kept, the
     * most likely one stays (llama.cpp's and Hugging Face's {@code min_keep = 1}).
     *
     * @param keep tests an index into this set
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

    /** {@return whether the candidates are known to be sorted highest logit first} */
    public boolean isSorted() {
        return sortedDescending;
    }

    /** Sorts by logit, highest first; equal logits keep ascending token id order. */
    public void sortDescending() {
        if (sortedDescending) {
            return;
        }
        long[] keys = new long[size];
        for (int i = 0; i < size; i++) {
            keys[i] = key(i);
        }
        // primitive sort: boxing a 128k-token vocabulary at every step would dominate decoding time
        Arrays.sort(keys);
        reorder(keys, size);
        sortedDescending = true;
    }

    /**
     * Keeps the {@code k} most likely candidates, sorted highest first (ties: lowest id), without sorting the rest:
     * a bounded heap, O(n log k), as llama.cpp's partial sort for top-k.
     *
     * @param k how many to keep
     */
    public void keepTop(int k) {
        if (k >= size) {
            sortDescending();
            return;
        }
        int n = Math.max(1, k);
        // a max-heap of the n smallest keys (= the n best candidates); its root is the worst kept one
        long[] heap = new long[n];
        int count = 0;
        for (int i = 0; i < size; i++) {
            long key = key(i);
            if (count < n) {
                heap[count] = key;
                siftUp(heap, count++);
            } else if (key < heap[0]) {
                heap[0] = key;
                siftDown(heap, n);
            }
        }
        Arrays.sort(heap);
        reorder(heap, n);
        size = n;
        sortedDescending = true;
    }

    /**
     * A long that sorts ascending as (logit descending, id ascending): the float's bits made monotonic and
     * inverted in the high half, the id in the low half.
     */
    private long key(int i) {
        int bits = Float.floatToIntBits(logits[i]);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~ordered << 32) | (ids[i] & 0xffffffffL);
    }

    /** Rewrites ids and logits in the order of {@code keys} (which carry the ids). */
    private void reorder(long[] keys, int n) {
        int maxId = 0;
        for (int i = 0; i < size; i++) {
            maxId = Math.max(maxId, ids[i]);
        }
        float[] byId = new float[maxId + 1];
        for (int i = 0; i < size; i++) {
            byId[ids[i]] = logits[i];
        }
        int[] nIds = new int[n];
        float[] nLogits = new float[n];
        for (int i = 0; i < n; i++) {
            int id = (int) keys[i];
            nIds[i] = id;
            nLogits[i] = byId[id];
        }
        ids = nIds;
        logits = nLogits;
    }

    private static void siftUp(long[] h, int i) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (h[parent] >= h[i]) {
                return;
            }
            long t = h[parent];
            h[parent] = h[i];
            h[i] = t;
            i = parent;
        }
    }

    private static void siftDown(long[] h, int n) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            int r = l + 1;
            int largest = i;
            if (l < n && h[l] > h[largest]) {
                largest = l;
            }
            if (r < n && h[r] > h[largest]) {
                largest = r;
            }
            if (largest == i) {
                return;
            }
            long t = h[largest];
            h[largest] = h[i];
            h[i] = t;
            i = largest;
        }
    }

    /**
     * Softmax over the current candidates, in double precision.
     *
     * @return one probability per candidate
     */
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

    /**
     * Shannon entropy (nats) of {@link #probabilities()}.
     *
     * @return the entropy
     */
    public double entropy() {
        double h = 0;
        for (double p : probabilities()) {
            if (p > 0) {
                h -= p * Math.log(p);
            }
        }
        return h;
    }

    /**
     * Index (into this set) of the highest logit, lowest token id on ties.
     *
     * @return the index
     */
    public int argmax() {
        int best = 0;
        for (int i = 1; i < size; i++) {
            if (logits[i] > logits[best] || (logits[i] == logits[best] && ids[i] < ids[best])) {
                best = i;
            }
        }
        return best;
    }

    /**
     * The probability of token {@code id} in this set, 0 when it was dropped.
     *
     * @param id a token id
     * @return its probability
     */
    public double probabilityOf(int id) {
        double[] p = probabilities();
        for (int i = 0; i < size; i++) {
            if (ids[i] == id) {
                return p[i];
            }
        }
        return 0;
    }

    /**
     * A copy of the current candidates (for inspection: tests, traces).
     *
     * @return the copy
     */
    public Candidates copy() {
        Candidates c = new Candidates(Arrays.copyOf(ids, size), Arrays.copyOf(logits, size), size, history, generated);
        c.sortedDescending = sortedDescending;
        return c;
    }
}
