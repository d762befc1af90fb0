package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Matrix over every supported type: GGUF write/read round trip, matvec/matmul against dequantized rows, bad shapes. */
class MatrixTest {

    @Test
    void ggufRoundTripMatvecAndMatmul(@TempDir Path dir) throws Exception {
        GgmlType[] types = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};
        int cols = 512;
        int rows = 5;
        float[] src = RoundTripTest.gaussian(9, rows * cols);
        GgufWriter writer = new GgufWriter().putString("general.architecture", "test");
        for (GgmlType t : types) {
            writer.addTensor("w." + t, new long[] {cols, rows}, t, () -> TypeKernels.of(t, "w").quantize(src, 0, src.length));
        }
        Path file = dir.resolve("types.gguf");
        writer.write(file);
        SplittableRandom r = new SplittableRandom(2);
        float[][] xs = new float[3][cols];
        for (float[] x : xs) {
            for (int i = 0; i < cols; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            for (GgmlType t : types) {
                Matrix m = gguf.matrix(gguf.tensors().get("w." + t));
                assertEquals(t, m.type());
                assertEquals(cols, m.cols());
                assertEquals(rows, m.rows());
                // the file holds exactly what the quantizer produced, so dequantizing it matches the in-memory bytes
                byte[] q = TypeKernels.of(t, "w").quantize(src, 0, src.length);
                float[] expected = new float[src.length];
                TypeKernels.of(t, "w").dequantize(MemorySegment.ofArray(q), 0, expected, 0, src.length);
                assertArrayEquals(expected, m.toFloatArray(), 0f, t.name());

                float[] out = new float[rows];
                m.matvec(xs[0], out, 0, rows);
                float[][] outs = new float[xs.length][rows];
                m.matmul(xs, outs, 1, rows); // row 0 left untouched
                for (int row = 0; row < rows; row++) {
                    for (int b = 0; b < xs.length; b++) {
                        double ref = 0;
                        double mag = 0;
                        for (int i = 0; i < cols; i++) {
                            ref += (double) expected[row * cols + i] * xs[b][i];
                            mag += Math.abs((double) expected[row * cols + i] * xs[b][i]);
                        }
                        if (b == 0) {
                            assertEquals(ref, out[row], 2e-5 * mag, t + " matvec row " + row);
                            assertEquals(m.dot(row, xs[0], 0), out[row], 0f, t + " matvec == dot");
                        }
                        if (row == 0) {
                            assertEquals(0f, outs[b][0], t + " matmul outside [from, to)");
                        } else {
                            assertEquals(m.dot(row, xs[b], 0), outs[b][row], 0f, t + " matmul == dot");
                        }
                    }
                }
            }
        }
    }

    @Test
    void badShapesAndTypesAreMetagenExceptions() {
        MemorySegment small = MemorySegment.ofArray(new byte[34 * 2]);
        MetagenException e = assertThrows(MetagenException.class, () -> new Matrix("blk.0.attn_q.weight", GgmlType.Q8_0, small, 48, 1));
        assertTrue(e.getMessage().contains("blk.0.attn_q.weight") && e.getMessage().contains("32"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> new Matrix("blk.0.ffn_up.weight", GgmlType.Q8_0, small, 64, 2));
        assertTrue(e.getMessage().contains("blk.0.ffn_up.weight") && e.getMessage().contains("136"), e.getMessage());
        e = assertThrows(UnsupportedTensorTypeException.class, () -> new Matrix("output.weight", GgmlType.IQ2_XXS, small, 256, 1));
        assertTrue(e.getMessage().contains("output.weight") && e.getMessage().contains("IQ2_XXS"), e.getMessage());
        assertTrue(e.getMessage().contains("Q4_K"), "lists what is supported: " + e.getMessage());
        e = assertThrows(UnsupportedTensorTypeException.class, () -> TypeKernels.of(null, "token_embd.weight"));
        assertTrue(e.getMessage().contains("token_embd.weight"), e.getMessage());
        Matrix m = new Matrix("blk.0.ffn_down.weight", GgmlType.Q8_0, small, 32, 2);
        e = assertThrows(MetagenException.class, () -> m.matvec(new float[32], 0, new float[2], 0, 1, 3));
        assertTrue(e.getMessage().contains("blk.0.ffn_down.weight") && e.getMessage().contains("[1, 3)"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> m.matvec(new float[32], 1, new float[2], 0, 0, 2));
        assertTrue(e.getMessage().contains("offsets 1/0"), e.getMessage());
        e = assertThrows(MetagenException.class, () -> m.matvec(new float[32], 0, new float[2], 1, 0, 2));
        assertTrue(e.getMessage().contains("offsets 0/1"), e.getMessage());
        // a matrix exactly filling its segment is fine
        assertEquals(2, new Matrix("ok", GgmlType.Q8_0, small, 32, 2).rows());
    }
}
