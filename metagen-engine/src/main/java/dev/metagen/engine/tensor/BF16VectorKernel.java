package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.I;
import static dev.metagen.engine.tensor.Simd.L;
import static dev.metagen.engine.tensor.Simd.S;

/**
 * BF16 dot product and dequantization with jdk.incubator.vector: a bfloat16 is the upper half of a float, so L of
 * them widen to int lanes, shift left by 16 and reinterpret as floats (exact). Two accumulators hide FMA latency.
 */
final class BF16VectorKernel extends BF16Kernel {

    static FloatVector load(MemorySegment w, long off) {
        return ShortVector.fromMemorySegment(S, w, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0)
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = load(w, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = load(w, off + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        for (; i + L <= n; i += L) {
            a0 = load(w, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
        }
        float s = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            s += toFloat(w.get(Blocks.SHORT_LE, off + 2L * i)) * x[xOff + i];
        }
        return s;
    }

    /** Exact bfloat16-to-float widening, L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            load(w, off + 2L * i).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = toFloat(w.get(Blocks.SHORT_LE, off + 2L * i));
        }
    }
}
