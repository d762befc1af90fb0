package dev.metagen.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hand-built blocks with known bytes, dequantized and compared with values worked out by hand from the block layouts
 * in ggml-common.h and the formulas of ggml-quants.c dequantize_row_*. Every expected number below is derived in the
 * comment next to it; nothing is computed by the code under test.
 */
class KnownBlocksTest {

    /** Dequantizes with the registered kernel and with the scalar one, checking both and also dot == sum(value * x). */
    private static void check(GgmlType type, byte[] block, float[] expected) {
        float[] got = new float[expected.length];
        TypeKernels.of(type, "t").dequantize(MemorySegment.ofArray(block), 0, got, 0, expected.length);
        assertArrayEquals(expected, got, 0f, type + " dequantize");
        float[] scalar = new float[expected.length];
        TypeKernels.scalar(type).dequantize(MemorySegment.ofArray(block), 0, scalar, 0, expected.length);
        assertArrayEquals(expected, scalar, 0f, type + " scalar dequantize");
        // dot with a one-hot x picks out exactly one value
        for (int i = 0; i < expected.length; i += Math.max(1, expected.length / 40)) {
            float[] x = new float[expected.length];
            x[i] = 1;
            assertEquals(expected[i], TypeKernels.of(type, "t").dot(MemorySegment.ofArray(block), 0, x, 0, expected.length), 0f,
                    type + " dot picks element " + i);
            assertEquals(expected[i], TypeKernels.scalar(type).dot(MemorySegment.ofArray(block), 0, x, 0, expected.length), 0f,
                    type + " scalar dot picks element " + i);
        }
    }

    private static void half(byte[] b, int at, int bits) {
        b[at] = (byte) bits;
        b[at + 1] = (byte) (bits >>> 8);
    }

    @Test
    void f32() {
        byte[] b = {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, (byte) 0xC0}; // 0x3F800000 = 1, 0xC0000000 = -2
        check(GgmlType.F32, b, new float[] {1f, -2f});
    }

    @Test
    void f16() {
        byte[] b = new byte[14];
        half(b, 0, 0x3C00);  // 1.0
        half(b, 2, 0xC000);  // -2.0
        half(b, 4, 0x7BFF);  // 65504, the largest half
        half(b, 6, 0x0001);  // 2^-24, the smallest subnormal
        half(b, 8, 0x3555);  // 0x155 / 1024 * 2^-2 + 2^-2 = 0.333251953125
        half(b, 10, 0x8000); // -0
        half(b, 12, 0xFC00); // -inf
        float[] got = new float[7];
        TypeKernels.of(GgmlType.F16, "t").dequantize(MemorySegment.ofArray(b), 0, got, 0, 7);
        assertArrayEquals(new float[] {1f, -2f, 65504f, 0x1p-24f, 0.333251953125f, -0f, Float.NEGATIVE_INFINITY}, got, 0f);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(got[5]));
    }

    @Test
    void bf16() {
        byte[] b = new byte[8];
        half(b, 0, 0x3F80); // 1.0
        half(b, 2, 0xC040); // -3.0
        half(b, 4, 0x3EAB); // 0x3EAB0000 = 0.333984375
        half(b, 6, 0x0001); // 0x00010000 = 2^-133 (a float subnormal: 2^16 * 2^-149)
        check(GgmlType.BF16, b, new float[] {1f, -3f, 0.333984375f, 0x1p-133f});
    }

    @Test
    void q8_0() {
        byte[] b = new byte[68];
        half(b, 0, 0x3800); // d = 0.5
        b[2] = -128;        // -64
        b[3] = 127;         // 63.5
        b[4] = -1;          // -0.5
        b[33] = 3;          // last element: 1.5
        half(b, 34, 0xB400); // second block: d = -0.25 (negative scale)
        b[36] = 4;           // -1
        b[37] = -128;        // 32
        float[] e = new float[64];
        e[0] = -64f;
        e[1] = 63.5f;
        e[2] = -0.5f;
        e[31] = 1.5f;
        e[32] = -1f;
        e[33] = 32f;
        check(GgmlType.Q8_0, b, e);
    }

    @Test
    void q4_0() {
        byte[] b = new byte[18];
        half(b, 0, 0xC000); // d = -2 (negative scale)
        Arrays.fill(b, 2, 18, (byte) 0x88); // nibble 8 means 0
        b[2] = 0x0F;        // element 0: (15 - 8) * -2 = -14; element 16: (0 - 8) * -2 = 16
        b[3] = (byte) 0xF0; // element 1: (0 - 8) * -2 = 16; element 17: (15 - 8) * -2 = -14
        b[4] = (byte) 0x98; // element 2: 0; element 18: (9 - 8) * -2 = -2
        float[] e = new float[32];
        e[0] = -14;
        e[16] = 16;
        e[1] = 16;
        e[17] = -14;
        e[18] = -2;
        check(GgmlType.Q4_0, b, e);
    }

    @Test
    void q4_1() {
        byte[] b = new byte[20];
        half(b, 0, 0x3800); // d = 0.5
        half(b, 2, 0xBC00); // m = -1
        b[4] = (byte) 0xF0; // element 0: 0 * 0.5 - 1 = -1; element 16: 15 * 0.5 - 1 = 6.5
        b[5] = 0x07;        // element 1: 7 * 0.5 - 1 = 2.5; element 17: -1
        float[] e = new float[32];
        Arrays.fill(e, -1f);
        e[16] = 6.5f;
        e[1] = 2.5f;
        check(GgmlType.Q4_1, b, e);
    }

    @Test
    void q5_0() {
        byte[] b = new byte[22];
        half(b, 0, 0x3C00); // d = 1
        // qh = 0x80010001 little-endian: bit 0 (element 0), bit 16 (element 16), bit 31 (element 31)
        b[2] = 0x01;
        b[4] = 0x01;
        b[5] = (byte) 0x80;
        b[6] = (byte) 0xFF; // element 0: 15 | 16 = 31 -> 15; element 16: 15 | 16 = 31 -> 15
        b[7] = 0x0A;        // element 1: 10 (no high bit) -> -6; element 17: 0 -> -16
        float[] e = new float[32];
        Arrays.fill(e, -16f); // all-zero nibbles without the high bit: 0 - 16
        e[0] = 15;
        e[16] = 15;
        e[1] = -6;
        e[31] = 0;          // nibble 0 with the high bit: 16 - 16
        check(GgmlType.Q5_0, b, e);
    }

    @Test
    void q5_1() {
        byte[] b = new byte[24];
        half(b, 0, 0x3400); // d = 0.25
        half(b, 2, 0x4000); // m = 2
        b[4] = 0x02;        // qh bit 1: element 1 gets the high bit
        b[9] = 0x3A;        // element 1: (10 | 16) * 0.25 + 2 = 8.5; element 17: 3 * 0.25 + 2 = 2.75
        float[] e = new float[32];
        Arrays.fill(e, 2f);
        e[1] = 8.5f;
        e[17] = 2.75f;
        check(GgmlType.Q5_1, b, e);
    }

    @Test
    void q4_K() {
        byte[] b = new byte[144];
        half(b, 0, 0x3C00); // d = 1
        half(b, 2, 0x3800); // dmin = 0.5
        int s = 4;          // scales[12]
        // sub-block 0: sc = scales[0] & 63 = 1, m = scales[4] & 63 = 2 -> d1 = 1, m1 = 0.5 * 2 = 1
        // sub-block 4: sc = (scales[8] & 15) | (scales[0] >> 6) << 4 = 15 | 3 << 4 = 63
        //              m  = (scales[8] >> 4) | (scales[4] >> 6) << 4 = 1 | 2 << 4 = 33 -> d = 63, m = 16.5
        b[s] = (byte) 0xC1;
        b[s + 4] = (byte) 0x82;
        b[s + 8] = 0x1F;
        // sub-block 1: sc = scales[1] & 63 = 3, m = scales[5] & 63 = 0
        b[s + 1] = 3;
        int q = 16;         // qs[128]; bytes 0..31 hold sub-blocks 0 (low) and 1 (high)
        b[q] = 0x0F;        // element 0: 1 * 15 - 1 = 14; element 32: 3 * 0 - 0 = 0
        b[q + 1] = (byte) 0xA0; // element 1: 1 * 0 - 1 = -1; element 33: 3 * 10 = 30
        b[q + 64] = 0x72;   // element 128 (sub-block 4, low): 63 * 2 - 16.5 = 109.5; element 160 (sub-block 5: sc = m = 0): 0
        float[] e = new float[256];
        Arrays.fill(e, 0, 32, -1f);     // sub-block 0 with q = 0: -m1
        Arrays.fill(e, 128, 160, -16.5f); // sub-block 4 with q = 0
        e[0] = 14;
        e[33] = 30;
        e[128] = 109.5f;
        check(GgmlType.Q4_K, b, e);
    }

    @Test
    void q5_K() {
        byte[] b = new byte[176];
        half(b, 0, 0x3C00); // d = 1
        half(b, 2, 0x3C00); // dmin = 1
        int s = 4;
        b[s] = 2;           // sub-block 0: sc = 2
        b[s + 4] = 1;       //              m = 1
        b[s + 1] = 1;       // sub-block 1: sc = 1, m = 0
        b[s + 10] = 0x05;   // sub-block 6: sc = (scales[10] & 15) | (scales[2] >> 6) << 4 = 5, m = 0
        int qh = 16;        // qh[32]
        int ql = 48;        // qs[128]
        b[qh] = 0x01;       // bit 0 of qh[0]: element 0 (group 0, low half) + 16
        b[qh + 1] = 0x02;   // bit 1 of qh[1]: element 33 (group 0, high half) + 16
        b[qh + 2] = 0x40;   // bit 6 of qh[2]: element 3 * 64 + 2 = 194 (group 3, low half) + 16
        b[ql] = 0x0F;       // element 0: 2 * (15 + 16) - 1 = 61; element 32: 1 * 0 = 0
        b[ql + 1] = 0x50;   // element 1: 2 * 0 - 1 = -1; element 33: 1 * (5 + 16) = 21
        b[ql + 98] = 0x03;  // element 194 (qs[96 + 2] low nibble): 5 * (3 + 16) = 95
        float[] e = new float[256];
        Arrays.fill(e, 0, 32, -1f);
        e[0] = 61;
        e[33] = 21;
        e[194] = 95;
        check(GgmlType.Q5_K, b, e);
    }

    @Test
    void q6_K() {
        byte[] b = new byte[210];
        int ql = 0, qh = 128, sc = 192;
        half(b, 208, 0x3800); // d = 0.5, stored last
        b[sc] = -3;           // elements 0..15
        b[sc + 1] = 4;        // elements 16..31
        b[sc + 2] = 2;        // elements 32..47
        b[sc + 4] = 1;        // elements 64..79
        b[sc + 6] = -1;       // elements 96..111
        b[sc + 8] = 1;        // elements 128..143 (second half)
        b[qh] = (byte) 0xC7;  // bits 0-1 = 3 (element 0), 2-3 = 1 (element 32), 4-5 = 0 (element 64), 6-7 = 3 (element 96)
        b[ql] = 0x2F;         // element 0: 15 | 3 << 4 = 63 -> 31 -> 0.5 * -3 * 31 = -46.5
                              // element 64: 2 | 0 << 4 = 2 -> -30 -> 0.5 * 1 * -30 = -15
        b[ql + 32] = (byte) 0x80; // element 32: 0 | 1 << 4 = 16 -> -16 -> 0.5 * 2 * -16 = -16
                                  // element 96: 8 | 3 << 4 = 56 -> 24 -> 0.5 * -1 * 24 = -12
        float[] e = new float[256];
        // all-zero bits mean q = -32: value = 0.5 * scale * -32 = -16 * scale
        Arrays.fill(e, 0, 16, 48f);
        Arrays.fill(e, 16, 32, -64f);
        Arrays.fill(e, 32, 48, -32f);
        Arrays.fill(e, 64, 80, -16f);
        Arrays.fill(e, 96, 112, 16f);
        Arrays.fill(e, 128, 144, -16f);
        e[0] = -46.5f;
        e[64] = -15f;
        e[32] = -16f;
        e[96] = -12f;
        check(GgmlType.Q6_K, b, e);
    }

    @Test
    void everySupportedTypeHasAHandCheckedBlock() {
        // the tests above cover exactly the registered types
        for (GgmlType t : GgmlType.values()) {
            boolean covered = switch (t) {
                case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K -> true;
                default -> false;
            };
            assertEquals(covered, TypeKernels.isSupported(t), t.name());
            assertEquals(covered, t.isSupported(), t.name() + " in GgmlType");
        }
        assertTrue(TypeKernels.isSupported(GgmlType.Q6_K));
    }
}
