package dev.metagen.core;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Guidance and OutputConstraint refuse inconsistent values with a message naming the field. */
class GuidanceAndConstraintTest {
    private static void refused(String field, org.junit.jupiter.api.function.Executable make) {
        String message = assertThrows(MetagenException.class, make).getMessage();
        assertTrue(message.contains(field), message);
    }

    @Test
    void guidanceValidatesEveryAdapter() {
        assertTrue(Guidance.NONE.isNone());
        assertFalse(Guidance.NONE.withCfg(1.5, "").isNone());
        assertFalse(Guidance.NONE.withAmateur("small.gguf", 0.1).isNone());
        refused("cfg_scale", () -> Guidance.NONE.withCfg(Double.NaN, ""));
        refused("cd_alpha", () -> Guidance.NONE.withAmateur("small.gguf", 0));
        refused("cd_alpha", () -> Guidance.NONE.withAmateur("small.gguf", 1.5));
        refused("amateur", () -> Guidance.NONE.withAmateur(" ", 0.1));
        refused("expert_weights", () -> Guidance.NONE.withExperts(List.of("a", "b"), List.of(1.0)));
        refused("expert weights", () -> Guidance.NONE.withExperts(List.of("a"), List.of(Double.POSITIVE_INFINITY)));
        // no weights given: every expert weighs 1
        assertEquals(List.of(1.0, 1.0), Guidance.NONE.withExperts(List.of("a", "b"), List.of()).expertWeights());
    }

    @Test
    void choiceAndContainsNeedAString() {
        refused(OutputConstraint.Kind.CHOICE.field(), () -> OutputConstraint.choice(List.of()));
        assertEquals(List.of("yes", "no"), OutputConstraint.choice(List.of("yes", "no")).options());
        assertEquals(OutputConstraint.Kind.REGEX, OutputConstraint.regex("[a-z]+").kind());
        assertEquals("[a-z]+", OutputConstraint.regex("[a-z]+").source());
    }
}
