package dev.metagen.core;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GenerationParams refuses impossible values with a message naming them, and keeps one seed for its sampling. */
class GenerationParamsTest {
    @Test
    void refusesImpossibleValuesNamingThem() {
        assertTrue(assertThrows(MetagenException.class, () -> GenerationParams.greedy(-1)).getMessage().contains("max tokens"));
        GenerationParams p = GenerationParams.greedy(4);
        assertTrue(assertThrows(MetagenException.class, () -> p.withLogprobs(-1)).getMessage().contains("logprobs"));
        assertTrue(assertThrows(MetagenException.class, () -> p.withLogprobs(GenerationParams.MAX_LOGPROBS + 1))
                .getMessage().contains("logprobs"));
        assertEquals(GenerationParams.MAX_LOGPROBS, p.withLogprobs(GenerationParams.MAX_LOGPROBS).logprobs());
        assertTrue(assertThrows(MetagenException.class, () -> p.withStop(List.of("ok", ""))).getMessage().contains("stop"));
    }

    @Test
    void theCallsSeedIsTheSamplingSeed() {
        GenerationParams p = new GenerationParams(8, 0.7, 40, 0.9, 42, true, List.of());
        assertEquals(42, p.seed());
        assertEquals(42, p.sampling().seed());
        GenerationParams q = p.withSeed(7);
        assertEquals(7, q.sampling().seed());
        assertEquals(42, p.sampling().seed(), "the original is unchanged");
        assertEquals(0.7, q.temperature());
        assertEquals(40, q.topK());
        assertEquals(0.9, q.topP());
        GenerationParams r = GenerationParams.of(3, new SamplingConfig().seed(9));
        assertEquals(9, r.seed());
    }

    @Test
    void stopListIsACopy() {
        List<String> stops = new ArrayList<>(List.of("\n"));
        GenerationParams p = GenerationParams.greedy(4).withStop(stops);
        stops.add("x");
        assertEquals(List.of("\n"), p.stop());
        assertNotSame(stops, p.stop());
    }
}
