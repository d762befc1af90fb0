package dev.metagen.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SamplingConfig's setters check their value, name the knob in the error, and return a copy. */
class SamplingConfigTest {
    private static void refused(String knob, Executable set) {
        String message = assertThrows(MetagenException.class, set).getMessage();
        assertTrue(message.startsWith(knob + " must be"), message);
    }

    @Test
    void outOfRangeValuesAreRefusedNamingTheKnob() {
        SamplingConfig c = new SamplingConfig();
        refused("temperature", () -> c.temperature(-0.1));
        refused("temperature", () -> c.temperature(Double.NaN));
        refused("temperature", () -> c.temperature(Double.POSITIVE_INFINITY));
        refused("top-k", () -> c.topK(-1));
        refused("top-p", () -> c.topP(0));
        refused("top-p", () -> c.topP(1.01));
        refused("min-p", () -> c.minP(-0.01));
        refused("min-p", () -> c.minP(1.5));
    }

    @Test
    void settersReturnACopyAndLeaveTheOriginal() {
        SamplingConfig c = new SamplingConfig();
        SamplingConfig d = c.temperature(0.5).topK(10).topP(0.8).seed(3);
        assertEquals(1.0, c.temperature());
        assertEquals(0, c.topK());
        assertEquals(0.5, d.temperature());
        assertEquals(10, d.topK());
        assertEquals(0.8, d.topP());
        assertEquals(3, d.seed());
        assertEquals(0.0, SamplingConfig.greedy().temperature());
        // the neutral edges are accepted: they switch the adapter off
        assertEquals(1.0, c.topP(1.0).topP());
        assertEquals(0, c.topK(0).topK());
    }
}
