package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;

/**
 * Activation vectors (one per position) transposed for
 * {@link Matrix#matmul(PackedActivations, float[], int, int, int)}: positions are grouped {@value #GROUP} at a time
 * and, within a group, stored column-major ({@code group[k * GROUP + p]}), so that one vector load holds column k of
 * many positions. Packing once per matrix product, not once per thread or weight panel, keeps its cost to one pass
 * over the activations. A reusable buffer: {@link #pack} overwrites it.
 */
public final class PackedActivations {
    /** Positions per group: two float vectors of the widest species this code runs (16 lanes with AVX-512). */
    static final int GROUP = 32;

    private float[] data = new float[0];
    private int cols;
    private int positions;
    private float[] in;
    private int inStride;

    /** Packs {@code positions} vectors of {@code cols} values stored {@code inStride} apart in {@code in}. */
    public PackedActivations pack(float[] in, int inStride, int cols, int positions) {
        prepare(in, inStride, cols, positions);
        fill(0, positions);
        return this;
    }

    /**
     * Sizes the buffer for {@code positions} vectors of {@code in} and remembers them; {@link #fill} then copies
     * them, in ranges of positions that threads can take in parallel.
     */
    public PackedActivations prepare(float[] in, int inStride, int cols, int positions) {
        if (cols <= 0 || positions < 0 || inStride < cols
                || (positions > 0 && (long) (positions - 1) * inStride + cols > in.length)) {
            throw new MetagenException("cannot pack " + positions + " vectors of " + cols + " values with stride "
                    + inStride + " from an array of " + in.length);
        }
        int groups = (positions + GROUP - 1) / GROUP;
        int size = Math.multiplyExact(Math.multiplyExact(groups, cols), GROUP);
        if (data.length < size) {
            data = new float[size];
        }
        this.in = in;
        this.inStride = inStride;
        this.cols = cols;
        this.positions = positions;
        return this;
    }

    /** Copies positions {@code [from, to)} of the prepared vectors (and, with the last one, the group's padding). */
    public void fill(int from, int to) {
        for (int p = from; p < to; p++) {
            int base = (p / GROUP) * cols * GROUP + p % GROUP;
            int src = p * inStride;
            for (int k = 0; k < cols; k++) {
                data[base + k * GROUP] = in[src + k];
            }
        }
        if (to == positions && positions % GROUP != 0) { // padding lanes compute zeros that are never stored
            int base = (positions / GROUP) * cols * GROUP;
            for (int k = 0; k < cols; k++) {
                java.util.Arrays.fill(data, base + k * GROUP + positions % GROUP, base + (k + 1) * GROUP, 0f);
            }
        }
    }

    public int cols() {
        return cols;
    }

    public int positions() {
        return positions;
    }

    float[] data() {
        return data;
    }

    /** Column {@code k} of position {@code p}. */
    float get(int p, int k) {
        return data[(p / GROUP) * cols * GROUP + k * GROUP + p % GROUP];
    }
}
