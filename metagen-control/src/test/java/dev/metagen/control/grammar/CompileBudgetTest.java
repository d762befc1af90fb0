package dev.metagen.control.grammar;

import dev.metagen.control.Constraints;
import dev.metagen.control.json.JsonSchemaCompiler;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompileBudgetTest {
    private static String wideSchema(int n) {
        StringBuilder sb = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        for (int i = 0; i < n; i++) {
            sb.append(i > 0 ? "," : "").append("\"p").append(i).append("\":{\"type\":\"string\"}");
        }
        return sb.append("}}").toString();
    }

    private static GrammarAutomaton compileSchema(String schema) {
        return GrammarAutomaton.of(JsonSchemaCompiler.compile(schema, false).grammar());
    }

    @Test
    void aSchemaOverTheWorkLimitStopsWithTheLimitsName() {
        CompileBudget b = new CompileBudget(10_000, 1000, Long.MAX_VALUE, "limit W", "limit S");
        var e = assertThrows(CompileBudget.TooComplex.class, () -> b.run(() -> compileSchema(wideSchema(300))));
        assertEquals("too complex: more than 10000 grammar elements (limit W)", e.getMessage());
        // stopped at the ceiling, not after finishing the work
        assertTrue(b.work() <= 10_000 + 4096, "work " + b.work());
    }

    @Test
    void theSameSchemaCompilesUnderAWideBudgetAndItsWorkIsCounted() {
        CompileBudget b = new CompileBudget(10_000_000, 100_000, Long.MAX_VALUE, "w", "s");
        GrammarAutomaton a = b.run(() -> compileSchema(wideSchema(300)));
        assertTrue(a.stateCount() > 0);
        assertTrue(b.work() > 10_000, "work " + b.work());
    }

    @Test
    void aPassedDeadlineAbortsCompilation() {
        CompileBudget b = new CompileBudget(10_000_000, 100_000, System.nanoTime() - 1, "w", "s");
        var e = assertThrows(CompileBudget.Aborted.class, () -> b.run(() -> compileSchema(wideSchema(300))));
        assertTrue(e.deadline);
    }

    @Test
    void anInterruptedThreadAbortsCompilation() {
        CompileBudget b = new CompileBudget(10_000_000, 100_000, Long.MAX_VALUE, "w", "s");
        Thread.currentThread().interrupt();
        try {
            var e = assertThrows(CompileBudget.Aborted.class, () -> b.run(() -> compileSchema(wideSchema(300))));
            assertFalse(e.deadline);
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void theAutomatonKeepsItsStateCeilingWhenStatesAreAddedLater() {
        GrammarAutomaton a = new CompileBudget(1_000_000, 4, Long.MAX_VALUE, "w", "limit S")
                .run(() -> GrammarAutomaton.of(Constraints.regexGrammar("abcdefgh")));
        // outside the budget's run, as while decoding on another thread
        var e = assertThrows(CompileBudget.TooComplex.class, () -> a.walk(a.start(), "abcdefgh".getBytes()));
        assertEquals("too complex: more than 4 states (limit S)", e.getMessage());
    }

    @Test
    void withoutABudgetOnlyTheDefaultCeilingsApply() {
        GrammarAutomaton a = GrammarAutomaton.of(Constraints.regexGrammar("abcdefgh"));
        assertTrue(a.accepts(a.walk(a.start(), "abcdefgh".getBytes())));
    }
}
