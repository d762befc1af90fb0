package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.Arrays;

/**
 * One sequence of a {@link TransformerModel}: its tokens and its key/value cache, one key and one value array per
 * layer holding {@code capacity} positions. The cache grows by doubling as tokens arrive (never more than the
 * context length), so a model with a 128k context does not allocate 128k positions per state up front.
 */
final class KvState implements ModelState {
    private static final int MIN_CAPACITY = 16;

    final TransformerModel model;
    private final int kvDim;
    private final int vDim;
    private int length;
    private int[] tokens;
    private int capacity;
    float[][] keys;
    float[][] values;
    /** Final-norm hidden state at the last position, or {@code null} after truncation. */
    float[] lastHidden;
    private boolean closed;

    KvState(TransformerModel model) {
        this.model = model;
        this.kvDim = model.config().kvDim();
        this.vDim = model.config().vDim();
        int layers = model.config().layers();
        this.tokens = new int[MIN_CAPACITY];
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
    }

    private KvState(KvState src) {
        this.model = src.model;
        this.kvDim = src.kvDim;
        this.vDim = src.vDim;
        this.length = src.length;
        this.tokens = src.tokens.clone();
        this.capacity = src.length;
        this.keys = new float[src.keys.length][];
        this.values = new float[src.values.length][];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = Arrays.copyOf(src.keys[l], src.length * kvDim);
            values[l] = Arrays.copyOf(src.values[l], src.length * vDim);
        }
        this.lastHidden = src.lastHidden == null ? null : src.lastHidden.clone();
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int[] tokens() {
        return Arrays.copyOf(tokens, length);
    }

    @Override
    public ModelState fork() {
        checkOpen();
        return new KvState(this);
    }

    @Override
    public void truncate(int newLength) {
        checkOpen();
        if (newLength < 0 || newLength > length) {
            throw new MetagenException("cannot truncate a state of " + length + " tokens to " + newLength);
        }
        if (newLength != length) {
            length = newLength;
            lastHidden = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        keys = null;
        values = null;
        lastHidden = null;
    }

    void checkOpen() {
        if (closed) {
            throw new MetagenException("this model state is closed");
        }
    }

    /** Makes room for {@code needed} positions, doubling the cache arrays as needed. */
    void ensureCapacity(int needed) {
        if (needed > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(needed, 2 * tokens.length));
        }
        if (needed <= capacity) {
            return;
        }
        int cap = Math.min(model.contextLength(), Math.max(needed, Math.max(MIN_CAPACITY, 2 * capacity)));
        for (int l = 0; l < keys.length; l++) {
            keys[l] = Arrays.copyOf(keys[l], cap * kvDim);
            values[l] = Arrays.copyOf(values[l], cap * vDim);
        }
        capacity = cap;
    }

    /** Records that {@code token} now sits at position {@code length} (its K/V rows are written by the model). */
    void append(int token) {
        tokens[length++] = token;
    }
}
