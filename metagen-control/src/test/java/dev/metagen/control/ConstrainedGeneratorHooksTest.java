package dev.metagen.control;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.SamplingConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The full sampling chain and the per-token hook of {@link ConstrainedGenerator} (used by the server). */
@Tag("model")
class ConstrainedGeneratorHooksTest {
    private static final String RE = "[a-z]+( [a-z]+){2}";

    @Test
    void aGreedyChainEqualsTheParamsPathAndTheHookSeesEveryToken() {
        LanguageModel m = Models.stories();
        TokenConstraint c = Constraints.regex(RE, m.tokenizer());
        int[] ids = m.tokenizer().encode("Once upon a time", true, false);
        GenerationParams p = GenerationParams.greedy(20);
        Generation plain = new ConstrainedGenerator(m, c).generate(ids, p, c.start());
        List<String> seen = new ArrayList<>();
        Generation chained = new ConstrainedGenerator(m, c)
                .generate(ids, (p).withSampling(SamplingConfig.greedy()), c.start(), seen::add);
        assertEquals(plain.text(), chained.text());
        assertArrayEquals(plain.tokens(), chained.tokens());
        assertTrue(seen.size() >= plain.tokens().length, "a piece of text per token, then the flush");
        assertEquals(plain.text(), String.join("", seen));
        assertTrue(chained.text().matches(RE), chained.text());
    }

    @Test
    void chainAdaptersApplyUnderTheMaskAndAThrowingHookStopsTheGeneration() {
        LanguageModel m = Models.stories();
        TokenConstraint c = Constraints.regex(RE, m.tokenizer());
        int[] ids = m.tokenizer().encode("Once upon a time", true, false);
        GenerationParams p = GenerationParams.greedy(20);
        Generation plain = new ConstrainedGenerator(m, c).generate(ids, p, c.start());
        // ban the greedy first token: the chain's logit bias works inside the constraint
        SamplingConfig banned = SamplingConfig.greedy().logitBias(Map.of(plain.tokens()[0], Float.NEGATIVE_INFINITY));
        Generation other = new ConstrainedGenerator(m, c).generate(ids, (p).withSampling(banned).withSeed((banned).seed()), c.start(), t -> {});
        assertFalse(plain.tokens()[0] == other.tokens()[0]);
        assertTrue(other.text().matches(RE), other.text());
        int[] count = {0};
        RuntimeException stop = new RuntimeException("client gone");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> new ConstrainedGenerator(m, c)
                .generate(ids, p, c.start(), t -> {
                    if (++count[0] == 3) {
                        throw stop;
                    }
                }));
        assertEquals(stop, thrown);
        assertEquals(3, count[0]);
    }
}
