package dev.metagen.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.metagen.engine.tensor.Simd.F;
import static dev.metagen.engine.tensor.Simd.I;
import static dev.metagen.engine.tensor.Simd.L;
import static dev.metagen.engine.tensor.Simd.S;

/**
 * F16 dot product with jdk.incubator.vector. Halves are widened with integer ops: shifting exponent and mantissa
 * left by 13 gives a float 2^-112 times the half's value (normal and subnormal alike), so one multiply by 2^112
 * finishes the conversion exactly; infinities and NaNs (exponent 31) are patched with a blend.
 */
final class F16VectorKernel extends F16Kernel {

    static FloatVector load(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, off, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector em = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector bits = em.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = h.and(0x7c00).eq(0x7c00);
        if (special.anyTrue()) {
            bits = bits.blend(em.or(0x7f800000), special);
        }
        return bits.or(sign).reinterpretAsFloats();
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
            s += Blocks.half(w, off + 2L * i) * x[xOff + i];
        }
        return s;
    }

    /** Exact half-to-float conversion, L values at a time; used to fill GEMM panels. */
    @Override
    public void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            load(w, off + 2L * i).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = Blocks.half(w, off + 2L * i);
        }
    }
}
