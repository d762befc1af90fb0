package dev.metagen.eval;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.MetagenException;
import dev.metagen.eval.task.CustomTask;
import dev.metagen.eval.task.Gsm8kTask;
import dev.metagen.eval.task.HumanEvalTask;
import dev.metagen.eval.task.JsonSchemaTask;
import dev.metagen.eval.task.LexicalTask;
import dev.metagen.eval.task.Math500Task;
import dev.metagen.eval.task.MathAnswers;
import dev.metagen.eval.task.PassAtK;
import dev.metagen.eval.task.Problem;
import dev.metagen.eval.task.Tasks;
import dev.metagen.meta.tools.Sandbox;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Graders against hand-checked cases and against the datasets' own reference answers. */
class GradersTest {
    @Test
    void gsm8kExtractsTheFinalNumber() {
        Gsm8kTask t = new Gsm8kTask();
        Problem p = new Problem("0", "q", "1234", List.of(), Map.of());
        assertTrue(t.grade(p, "She makes 9 * 2 = $18 ... so 1,234 in total.").correct());
        assertTrue(t.grade(p, "#### 1234.00\nThe end, 7").correct(), "the number after #### wins over later ones");
        assertFalse(t.grade(p, "The answer is 1233.").correct());
        assertFalse(t.grade(p, "no idea").correct());
        assertEquals("18", Gsm8kTask.reference("Janet sells 9 eggs.\n#### 18").orElseThrow());
    }

    @Test
    void everyGsm8kReferenceSolutionIsCorrectAndPerturbedAnswersAreNot() {
        Gsm8kTask t = new Gsm8kTask();
        List<Problem> problems = t.read(SharedData.path("datasets/gsm8k/test.jsonl"));
        assertEquals(1319, problems.size());
        for (Problem p : problems) {
            String solution = (String) p.fields().get("solution");
            assertTrue(t.grade(p, solution).correct(), p.id() + ": " + solution);
            String wrong = new java.math.BigDecimal(p.reference()).add(java.math.BigDecimal.ONE).toPlainString();
            assertFalse(t.grade(p, solution.substring(0, solution.lastIndexOf("####")) + "#### " + wrong).correct(), p.id());
        }
    }

    @Test
    void mathEquivalenceHandChecked() {
        String[][] same = {
                {"\\frac{1}{2}", "0.5"}, {"\\dfrac12", "1/2"}, {"\\tfrac{1}{2}", "\\frac12"}, {"0.50", "\\frac{1}{2}"},
                {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"}, {"90^\\circ", "90"}, {"90^{\\circ}", "90"},
                {"10\\text{ cm}", "10"}, {"x = 5", "5"}, {"\\$18.90", "18.9"}, {"50\\%", "50"}, {"\\text{(C)}", "(C)"},
                {"1,000", "1000"}, {"-\\frac{3}{4}", "-0.75"}, {"\\sqrt3", "\\sqrt{3}"}, {"[1, 2)", "[1,2)"},
                {"7\\frac{1}{2}", "7.5"}, {"5 \\text{ degrees}", "5"}, {"\\frac{\\sqrt{3}}{2}", "\\dfrac{\\sqrt{3}}{2}"},
        };
        for (String[] c : same) {
            assertTrue(MathAnswers.equivalent(c[0], c[1]), c[0] + " == " + c[1]);
            assertTrue(MathAnswers.equivalent(c[1], c[0]), c[1] + " == " + c[0]);
        }
        String[][] different = {
                {"\\frac{1}{3}", "0.33"}, {"(1,2)", "(2,1)"}, {"[1,2)", "(1,2)"}, {"\\sqrt{2}", "\\sqrt{3}"}, {"12", "21"},
                {"-5", "5"}, {"\\frac{2}{3}", "\\frac{3}{2}"}, {"x^2", "x^3"}, {"(C)", "(D)"},
        };
        for (String[] c : different) {
            assertFalse(MathAnswers.equivalent(c[0], c[1]), c[0] + " != " + c[1]);
        }
        assertEquals("\\frac{a}{b}", MathAnswers.lastBoxed("so \\boxed{1} then \\boxed{\\frac{a}{b}}.").orElseThrow());
        assertEquals("42", MathAnswers.extract("The answer is $42$.").orElseThrow());
    }

    @Test
    void everyMath500ReferenceSolutionIsCorrectAndPerturbedAnswersAreNot() {
        Math500Task t = new Math500Task();
        List<Problem> problems = t.read(SharedData.path("datasets/math500/test.jsonl"));
        assertEquals(500, problems.size());
        List<String> wrongRight = new ArrayList<>();
        List<String> rightWrong = new ArrayList<>();
        for (Problem p : problems) {
            String solution = (String) p.fields().get("solution");
            if (!t.grade(p, solution).correct()) {
                rightWrong.add(p.id() + ": boxed " + MathAnswers.lastBoxed(solution).orElse("?") + " vs " + p.reference());
            }
            if (!t.grade(p, "\\boxed{" + p.reference() + "}").correct()) {
                rightWrong.add(p.id() + ": answer " + p.reference());
            }
            String perturbed = perturb(p.reference());
            if (t.grade(p, "\\boxed{" + perturbed + "}").correct()) {
                wrongRight.add(p.id() + ": " + perturbed + " vs " + p.reference());
            }
        }
        assertEquals(List.of(), rightWrong);
        assertEquals(List.of(), wrongRight);
    }

    /** A different answer: the first digit changed, or else the last letter, or else a "+1" appended. */
    static String perturb(String answer) {
        for (int i = 0; i < answer.length(); i++) {
            char c = answer.charAt(i);
            if (Character.isDigit(c)) {
                return answer.substring(0, i) + (char) ('0' + (c - '0' + 1) % 10) + answer.substring(i + 1);
            }
        }
        for (int i = answer.length() - 1; i >= 0; i--) {
            char c = answer.charAt(i);
            if (Character.isLetter(c) && (i == 0 || answer.charAt(i - 1) != '\\')) {
                return answer.substring(0, i) + (c == 'z' || c == 'Z' ? 'a' : (char) (c + 1)) + answer.substring(i + 1);
            }
        }
        return answer + "+1";
    }

    @Test
    void passAtKIsTheUnbiasedEstimator() {
        assertEquals(0.5, PassAtK.estimate(2, 1, 1), 1e-12);
        assertEquals(0.0, PassAtK.estimate(10, 0, 5), 1e-12);
        assertEquals(1.0, PassAtK.estimate(5, 5, 1), 1e-12);
        assertEquals(1.0, PassAtK.estimate(10, 7, 4), 1e-12, "n - c < k: every k-subset has a correct one");
        // 1 - C(n-c, k) / C(n, k), computed directly
        for (int n = 1; n <= 12; n++) {
            for (int c = 0; c <= n; c++) {
                for (int k = 1; k <= n; k++) {
                    double direct = 1 - binom(n - c, k) / binom(n, k);
                    assertEquals(direct, PassAtK.estimate(n, c, k), 1e-9, n + " " + c + " " + k);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> PassAtK.estimate(3, 1, 4));
    }

    private static double binom(int n, int k) {
        if (k > n) {
            return 0;
        }
        double r = 1;
        for (int i = 1; i <= k; i++) {
            r = r * (n - k + i) / i;
        }
        return r;
    }

    @Test
    void humanEvalRunsTheTestsInTheSandbox() {
        // bubblewrap must be installed (run-tests installs it); only a kernel without user namespaces skips, loudly
        assertTrue(Sandbox.toolsInstalled(), Sandbox.unavailableReason());
        if (!Sandbox.available()) {
            System.err.println("\n***** SKIPPED humaneval sandbox test: " + Sandbox.unavailableReason() + " *****\n");
        }
        assumeTrue(Sandbox.available(), Sandbox.unavailableReason());
        HumanEvalTask t = new HumanEvalTask(Sandbox.Limits.DEFAULT);
        List<Problem> problems = t.read(SharedData.path("datasets/humaneval/HumanEval.jsonl"));
        assertEquals(164, problems.size());
        for (Problem p : problems.subList(0, 3)) {
            String canonical = (String) p.fields().get("canonical_solution");
            assertTrue(t.grade(p, canonical + "\ndef unrelated():\n    pass\n").correct(), p.id());
            assertFalse(t.grade(p, "    return None\n").correct(), p.id());
        }
        Problem p = problems.getFirst();
        assertFalse(t.grade(p, "    while True:\n        pass\n").correct(), "an endless loop is stopped by the limits");
        assertTrue(t.grade(p, "```python\n" + p.prompt() + p.fields().get("canonical_solution") + "```").correct(),
                "a fenced block is the whole program");
    }

    @Test
    void jsonSchemaCompliance(@TempDir Path dir) throws Exception {
        JsonSchemaTask t = new JsonSchemaTask();
        Files.writeString(dir.resolve("a.json"), "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"age\"]}");
        Files.writeString(dir.resolve("b.json"), "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
        List<Problem> ps = t.read(dir);
        assertEquals(List.of("a", "b"), ps.stream().map(Problem::id).toList());
        assertTrue(t.grade(ps.get(0), "Here: {\"age\": 3} done").correct());
        assertFalse(t.grade(ps.get(0), "{\"age\": -3}").correct());
        assertFalse(t.grade(ps.get(0), "{\"name\": \"x\"}").correct());
        assertFalse(t.grade(ps.get(0), "{\"age\": ").correct());
        assertTrue(t.grade(ps.get(1), "[\"x\", \"y\"]").correct());
        assertFalse(t.grade(ps.get(1), "[1]").correct());
        // the benchmark's own folders read as datasets
        List<Problem> bench = t.read(SharedData.path("datasets/jsonschemabench/data/Github_trivial"));
        assertEquals(444, bench.size());
    }

    @Test
    void lexicalAndCustomGraders(@TempDir Path dir) throws Exception {
        LexicalTask lex = new LexicalTask();
        Path f = dir.resolve("lex.jsonl");
        Files.writeString(f, "{\"id\": \"a\", \"prompt\": \"Once\", \"words\": [\"Lily\", \"park\"]}\n");
        Problem p = lex.read(f).getFirst();
        assertTrue(lex.grade(p, "lily went to the PARK.").correct());
        assertFalse(lex.grade(p, "Lily went to the parking lot.").correct(), "whole words only");
        Path c = dir.resolve("c.jsonl");
        Files.writeString(c, "{\"id\": \"x\", \"prompt\": \"2+2=\", \"answer\": \"4\"}\n");
        CustomTask regex = CustomTask.regex("= *(\\d+)");
        Problem q = regex.read(c).getFirst();
        assertTrue(regex.grade(q, "2+2 = 4").correct());
        assertFalse(regex.grade(q, "2+2 = 5").correct());
        CustomTask cmd = CustomTask.command("grep -q \"$METAGEN_ANSWER\"", Duration.ofSeconds(5));
        assertTrue(cmd.grade(q, "it is 4").correct());
        assertFalse(cmd.grade(q, "it is five").correct());
        assertFalse(CustomTask.command("sleep 10", Duration.ofMillis(200)).grade(q, "x").correct());
    }

    @Test
    void badInputGivesOneLineErrors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"question\": \"q\", \"answer\": \"no final\"}\n");
        assertEquals(f + ":1: answer has no '#### N' final answer",
                assertThrows(MetagenException.class, () -> new Gsm8kTask().read(f)).getMessage());
        Files.writeString(f, "{\"id\": 1, \"prompt\": \"p\"}\nnot json\n");
        assertTrue(assertThrows(MetagenException.class, () -> new LexicalTask().read(f)).getMessage().startsWith(f + ":2: not JSON"));
        Files.writeString(f, "{\"id\": 1, \"prompt\": \"p\"}\n");
        assertTrue(assertThrows(MetagenException.class, () -> new LexicalTask().read(f)).getMessage().startsWith(f + ":1: 'words'"));
        assertTrue(assertThrows(MetagenException.class, () -> Tasks.byName("custom", null).read(f)).getMessage()
                .contains("--grader"));
        assertTrue(assertThrows(MetagenException.class, () -> new Math500Task().read(f)).getMessage().startsWith(f + ":1: missing field 'problem'"));
        assertTrue(assertThrows(MetagenException.class, () -> Tasks.byName("nope", null)).getMessage().contains("known: gsm8k"));
        assertTrue(assertThrows(MetagenException.class, () -> new Gsm8kTask().read(dir.resolve("missing.jsonl"))).getMessage()
                .endsWith("does not exist"));
        assertEquals("--grader regex: invalid regular expression: missing closing ): `(`",
                assertThrows(MetagenException.class, () -> CustomTask.regex("(")).getMessage());
        // graders run on the linear-time engine: a backreference is refused, (a+)+b on a long output is no hazard
        assertEquals("--grader regex: invalid regular expression: backreferences are not supported (linear-time engine)",
                assertThrows(MetagenException.class, () -> CustomTask.regex("^(a+)+\\1b")).getMessage());
        Problem p = new Problem("p", "q", null, List.of(), Map.of("row", "{}"));
        assertFalse(CustomTask.regex("^(a+)+b").grade(p, "a".repeat(100_000)).correct());
    }
}
