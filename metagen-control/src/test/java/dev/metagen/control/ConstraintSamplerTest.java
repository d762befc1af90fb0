package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.decoding.sampling.SamplerChain;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The constraint as a {@link dev.metagen.decoding.sampling.Sampler} inside a decoding module sampler chain. */
@Tag("model")
class ConstraintSamplerTest {

    @Test
    void samplerChainWithTheConstraintFirstStaysInTheLanguage() {
        LanguageModel m = Models.stories();
        GrammarConstraint c = Constraints.regex("[0-9]{3}-[a-z]{2,4}", m.tokenizer());
        for (long seed = 0; seed < 5; seed++) {
            ConstraintSampler cs = new ConstraintSampler(c.start());
            SamplerChain chain = new SamplerChain(List.of(cs), false, seed);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ModelState st = m.newState()) {
                Logits logits = m.forward(st, m.tokenizer().encode("Code:", true));
                for (int i = 0; i < 16 && !cs.state().mustEnd(); i++) {
                    int t = chain.sample(logits.values());
                    if (m.tokenizer().special().isEndOfGeneration(t)) {
                        assertTrue(cs.state().isComplete());
                        break;
                    }
                    // the chain told the sampler its choice: the constraint state has advanced already
                    out.writeBytes(m.tokenizer().tokenBytes(t));
                    logits = m.forward(st, t);
                }
            }
            String text = out.toString(StandardCharsets.UTF_8);
            assertTrue(text.matches("[0-9]{0,3}(-[a-z]{0,4})?"), text);
            assertEquals(cs.state().isComplete(), text.matches("[0-9]{3}-[a-z]{2,4}"), text);
        }
    }
}
