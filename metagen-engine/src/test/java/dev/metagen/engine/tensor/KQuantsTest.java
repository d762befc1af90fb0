package dev.metagen.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The word-wise scale/min decoding the K-quant vector kernels use against the byte-wise get_scale_min_k4. */
class KQuantsTest {

    @Test
    void packedScalesAndMinsMatchScaleMinForEveryByte() {
        Random r = new Random(7);
        byte[] bytes = new byte[12];
        for (int trial = 0; trial < 2000; trial++) {
            r.nextBytes(bytes);
            if (trial == 0) {
                Arrays.fill(bytes, (byte) 0xFF); // every spare high bit set
            }
            MemorySegment s = MemorySegment.ofArray(bytes);
            int u0 = s.get(Blocks.INT_LE, 0);
            int u1 = s.get(Blocks.INT_LE, 4);
            int u2 = s.get(Blocks.INT_LE, 8);
            long scales = KQuants.scales8(u0, u1, u2);
            long mins = KQuants.mins8(u0, u1, u2);
            for (int j = 0; j < 8; j++) {
                int sm = KQuants.scaleMin(s, 0, j);
                assertEquals(sm & 0xFF, (int) (scales >>> (8 * j)) & 0xFF, "scale " + j + " of trial " + trial);
                assertEquals(sm >>> 8, (int) (mins >>> (8 * j)) & 0xFF, "min " + j + " of trial " + trial);
            }
        }
    }
}
