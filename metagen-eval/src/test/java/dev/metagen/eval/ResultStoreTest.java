package dev.metagen.eval;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.eval.store.OutputLock;
import dev.metagen.eval.store.ResultStore;
import dev.metagen.eval.sweep.SweepListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One run per --out (an exclusive lock), and a resume that verifies every line of results.jsonl. */
class ResultStoreTest {
    @TempDir
    Path dir;

    private static String row(String problem, String strategy, int budget) {
        return "{\"problem\":\"" + problem + "\",\"strategy\":\"" + strategy + "\",\"budget\":" + budget + ",\"correct\":true}";
    }

    private Path results(String text) throws Exception {
        Path f = dir.resolve("results.jsonl");
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void aSecondRunOnTheSameOutFailsAtOnce() {
        try (OutputLock first = OutputLock.acquire(dir)) {
            MetagenException e = assertThrows(MetagenException.class, () -> OutputLock.acquire(dir));
            assertEquals("--out " + dir + " is in use by another eval run (it holds " + dir.resolve(".lock")
                    + "); wait for it to finish or choose another --out", e.getMessage());
        }
        OutputLock.acquire(dir).close(); // released when the first run ends
    }

    @Test
    void evaluationRunTakesTheLockBeforeTouchingResults() throws Exception {
        Path dataset = Path.of(ResultStoreTest.class.getResource("/eval/lexical.jsonl").toURI());
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Evaluation.Options o = new Evaluation.Options(dataset, "lexical", null,
                List.of("{\"type\": \"greedy\", \"name\": \"greedy\"}"), List.of(1), null, out, 7, true,
                new GenerationParams(8, 1.0, 0, 1.0, 0, true, List.of()), "m", 1, true);
        Evaluation.Plan plan = Evaluation.plan(o);
        try (OutputLock other = OutputLock.acquire(out)) {
            MetagenException e = assertThrows(MetagenException.class, () -> Evaluation.run(plan, null, SweepListener.NONE));
            assertTrue(e.getMessage().startsWith("--out " + out + " is in use by another eval run"), e.getMessage());
        }
        assertFalse(Files.exists(out.resolve("results.jsonl")), "the refused run wrote nothing");
        assertFalse(Files.exists(out.resolve("run.json")), "the refused run wrote nothing");
    }

    @Test
    void resumeReadsGoodLinesAndRedoesAnInterruptedLastWrite() throws Exception {
        String good = row("p1", "vote", 1) + "\n" + row("p1", "vote", 2) + "\n";
        Path f = results(good + "{\"problem\":\"p2\",\"stra");
        try (ResultStore s = ResultStore.resume(f)) {
            assertTrue(s.repaired());
            assertEquals(2, s.done().size());
            assertTrue(s.isDone("p1", "vote", 2));
        }
        assertEquals(good, Files.readString(f), "the cut-off write is removed");
    }

    @Test
    void aFusedLineIsRefusedWithItsLineNumber() throws Exception {
        // two runs appending at once wrote two records on one line
        Path f = results(row("p1", "vote", 1) + "\n" + row("p2", "vote", 1) + row("p3", "vote", 1) + "\n" + row("p4", "vote", 1) + "\n");
        MetagenException e = assertThrows(MetagenException.class, () -> ResultStore.resume(f));
        assertTrue(e.getMessage().startsWith(f + ":2: not one result object (a damaged or fused line: '{\"problem\":\"p2\""), e.getMessage());
        assertTrue(e.getMessage().endsWith("); not resuming"), e.getMessage());
        // as the last line too: it has its newline, so it is no interrupted write
        Path g = results(row("p1", "vote", 1) + "\n" + row("p2", "vote", 1) + row("p3", "vote", 1) + "\n");
        assertTrue(assertThrows(MetagenException.class, () -> ResultStore.resume(g)).getMessage().startsWith(g + ":2: not one result object"));
        // a fused line with a cut-off second record is no result either
        Path h = results(row("p1", "vote", 1) + "{\"problem\":\"p2\"\n");
        assertTrue(assertThrows(MetagenException.class, () -> ResultStore.resume(h)).getMessage().startsWith(h + ":1: not one result object"));
    }

    @Test
    void aDuplicatedRecordIsRefusedWithBothLineNumbers() throws Exception {
        Path f = results(row("p1", "vote", 1) + "\n" + row("p2", "vote", 1) + "\n" + row("p1", "vote", 1) + "\n");
        MetagenException e = assertThrows(MetagenException.class, () -> ResultStore.resume(f));
        assertEquals(f + ":3: duplicate result for problem 'p1', strategy 'vote', budget 1 (first at line 1); not resuming", e.getMessage());
        // the same problem at another budget or with another strategy is no duplicate
        Path g = results(row("p1", "vote", 1) + "\n" + row("p1", "vote", 2) + "\n" + row("p1", "best", 1) + "\n");
        try (ResultStore s = ResultStore.resume(g)) {
            assertEquals(3, s.done().size());
        }
    }

    @Test
    void blankAndWrongShapedLinesAreRefused() throws Exception {
        for (String bad : new String[] {"", "[1,2]", "{\"problem\":\"p\",\"strategy\":\"s\"}", "{\"problem\":\"p\",\"strategy\":\"s\",\"budget\":\"1\"}"}) {
            Path f = results(row("p0", "s", 1) + "\n" + bad + "\n");
            MetagenException e = assertThrows(MetagenException.class, () -> ResultStore.resume(f), bad);
            assertTrue(e.getMessage().startsWith(f + ":2: not one result object"), e.getMessage());
        }
    }
}
