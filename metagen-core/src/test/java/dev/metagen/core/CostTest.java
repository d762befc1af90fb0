package dev.metagen.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Cost arithmetic: sums are field by field, ZERO is the identity, totals add the two token counts. */
class CostTest {
    @Test
    void plusAddsEveryFieldAndZeroIsTheIdentity() {
        Cost a = new Cost(3, 5, 7, 1, Duration.ofMillis(10));
        Cost b = new Cost(11, 13, 17, 2, Duration.ofMillis(25));
        assertEquals(new Cost(14, 18, 24, 3, Duration.ofMillis(35)), a.plus(b));
        assertEquals(a.plus(b), b.plus(a));
        assertEquals(a, a.plus(Cost.ZERO));
        assertEquals(a, Cost.ZERO.plus(a));
        assertEquals(8, a.totalTokens());
        assertEquals(32, a.plus(b).totalTokens());
    }
}
