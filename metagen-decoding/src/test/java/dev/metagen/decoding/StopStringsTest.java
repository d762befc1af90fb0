package dev.metagen.decoding;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class StopStringsTest {

    @Test
    void matchesAcrossPiecesAndHoldsBackPossiblePrefixes() {
        StopStrings s = new StopStrings(List.of("The end"));
        assertEquals("Once upon ", s.accept("Once upon "));
        assertEquals("a time. ", s.accept("a time. Th"));
        assertFalse(s.stopped());
        assertEquals("", s.accept("e en"));
        assertEquals("", s.accept("d!"));
        assertTrue(s.stopped());
        assertEquals("", s.flush());
    }

    @Test
    void releasesHeldTextWhenItStopsMatching() {
        StopStrings s = new StopStrings(List.of("\n\n"));
        assertEquals("line", s.accept("line\n"));
        assertEquals("\nnext", s.accept("next"));
        assertEquals("tail", s.accept("tail"));
        assertEquals("", s.flush());
        StopStrings t = new StopStrings(List.of("xyz"));
        assertEquals("", t.accept("xy"));
        assertEquals("xy", t.flush());
    }

    @Test
    void earliestStopWins() {
        StopStrings s = new StopStrings(List.of("b", "a"));
        assertEquals("x", s.accept("xab"));
        assertTrue(s.stopped());
    }
}
