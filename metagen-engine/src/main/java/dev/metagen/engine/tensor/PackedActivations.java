package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;

/**
 * Activation vectors (one per position) transposed for {@link Matrix#matmul(PackedActivations, float[], int, int, int)}:
 * positions are grouped {@value #GROUP} at a time and, within a group, stored column-major
 * ({@code group[k * GROUP + p]}), so that one vector load holds column k of many positions. Packing once per matrix
 * product, not once per thread or weight panel, keeps its cost to one pass over the activations. A reusable buffer:
 * {@link #pack} overwrites it.
 */
public final class PackedActivations {
    /** Positions per group: two float vectors of the widest species this code runs (16 lanes with AVX-512). */
    static final int GROUP = 32;

    private float[] data = new float[0];
    private int cols;
    private int positions;

    /** Packs {@code positions} vectors of {@code cols} values stored {@code inStride} apart in {@code in}. */
    public PackedActivations pack(float[] in, int inStride, int cols, int positions) {
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
        this.cols = cols;
        this.positions = positions;
        for (int g = 0; g < groups; g++) {
            int base = g * cols * GROUP;
            int p0 = g * GROUP;
            int np = Math.min(GROUP, positions - p0);
            for (int p = 0; p < np; p++) {
                int src = (p0 + p) * inStride;
                for (int k = 0; k < cols; k++) {
                    data[base + k * GROUP + p] = in[src + k];
                }
            }
            if (np < GROUP) { // padding lanes compute zeros that are never stored
                for (int k = 0; k < cols; k++) {
                    java.util.Arrays.fill(data, base + k * GROUP + np, base + (k + 1) * GROUP, 0f);
                }
            }
        }
        return this;
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
