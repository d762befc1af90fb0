package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.meta.tools.Sandbox;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --strategy}: prints the chosen output, and with --json its cost and trace; bad specs name the JSON path. */
class StrategyCliTest {
    static final Path STORIES = SharedData.stories260k();
    static final String BEST_OF_3 = "{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"logprob\"},"
            + "\"inner\":{\"type\":\"sample\",\"temperature\":0.9}}";

    record Result(int exit, String out, String err) {
    }

    static Result run(String... args) {
        CommandLine cl = MetagenCommand.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void sandboxFlagsCapTheSpecsCodeTools() throws Exception {
        String spec = "{\"type\":\"chain\",\"links\":[{\"kind\":\"tool\",\"as\":\"out\",\"template\":\"print(6 * 7)\","
                + "\"tool\":{\"type\":\"python\",\"timeout_ms\":8000}}]}";
        Result over = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", spec);
        assertEquals(2, over.exit());
        assertTrue(over.err().contains("--strategy $.links[0].tool.timeout_ms: 8000 is above the operator's limit of 5000 (--sandbox-timeout-ms)"), over.err());
        Result lower = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", spec, "--sandbox-timeout-ms", "7000");
        assertEquals(2, lower.exit());
        assertTrue(lower.err().contains("limit of 7000 (--sandbox-timeout-ms)"), lower.err());
        Result alone = run("generate", "-m", STORIES.toString(), "-p", "x", "--sandbox-cpu-seconds", "3");
        assertEquals(2, alone.exit());
        assertTrue(alone.err().contains("--sandbox-cpu-seconds applies only with --strategy"), alone.err());
        // running the code needs bubblewrap (run-tests installs it); only a kernel without user namespaces skips, loudly
        assertTrue(Sandbox.toolsInstalled(), Sandbox.unavailableReason());
        if (!Sandbox.available()) {
            System.err.println("\n***** SKIPPED the sandboxed part of StrategyCliTest: " + Sandbox.unavailableReason() + " *****\n");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(Sandbox.available(), Sandbox.unavailableReason());
        Result ok = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", spec, "--sandbox-timeout-ms", "9000", "--json");
        assertEquals(0, ok.exit(), ok.err());
        JsonNode o = Json.MAPPER.readTree(ok.out());
        assertEquals("42", o.get("text").asText());
        assertEquals(1, o.get("cost").get("tool_calls").asInt());
    }

    @Test
    void jsonHasTheChosenCandidateCostAndTrace() throws Exception {
        Result r = run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "12", "--seed", "5",
                "--threads", "1", "--strategy", BEST_OF_3, "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        JsonNode cost = o.get("cost");
        for (String f : new String[]{"prompt_tokens", "generated_tokens", "model_calls", "tool_calls", "wall_ms"}) {
            assertTrue(cost.has(f), f);
        }
        // 3 samples, each prefilling the 5-token prompt (BOS + 4 pieces) and generating at most 12 tokens
        assertEquals(3 * 5, cost.get("prompt_tokens").asLong());
        assertTrue(cost.get("generated_tokens").asLong() <= 36);
        JsonNode trace = o.get("trace");
        assertEquals("best_of_n", trace.get("strategy").asText());
        JsonNode chosen = trace.get("candidates").get(trace.get("chosen").asInt());
        assertEquals(chosen.get("text").asText(), o.get("text").asText());
        double best = Double.NEGATIVE_INFINITY;
        for (JsonNode c : trace.get("candidates")) {
            best = Math.max(best, c.get("score").asDouble());
        }
        assertEquals(best, chosen.get("score").asDouble(), 0.0);
        assertEquals(cost.get("generated_tokens").asLong(), o.get("usage").get("completion_tokens").asLong());
    }

    @Test
    void textModePrintsTheChosenOutputAndAFileSpecWorks(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mcts.json");
        Files.writeString(file, "{\"type\":\"mcts\",\"iterations\":3,\"width\":2,\"delimiter\":\".\",\"step_max_tokens\":8,"
                + "\"max_steps\":2,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"}}");
        Result json = run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "16", "--seed", "2",
                "--threads", "1", "--strategy", file.toString(), "--json");
        assertEquals(0, json.exit(), json.err());
        JsonNode o = Json.MAPPER.readTree(json.out());
        assertTrue(o.get("trace").get("tree").get("nodes").size() > 1);
        Result text = run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "16", "--seed", "2",
                "--threads", "1", "--strategy", file.toString());
        assertEquals(0, text.exit(), text.err());
        assertEquals(o.get("text").asText() + "\n", text.out());
        assertTrue(text.err().contains("[strategy mcts:"), text.err());
    }

    @Test
    void beamLeavesComeFromTheDecodingModule() throws Exception {
        // a cascade whose cheap stage is greedy with an impossible confidence floor escalates to beam search
        String cascade = "{\"type\":\"cascade\",\"stages\":[{\"generator\":{\"type\":\"greedy\"},\"min_mean_logprob\":-1e-9},"
                + "{\"generator\":{\"type\":\"beam\",\"beams\":3}}]}";
        Result r = run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "10", "--seed", "1",
                "--threads", "1", "--strategy", cascade, "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(1, o.get("trace").get("chosen_stage").asInt());
        Result beam = run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "10", "--threads", "1",
                "--beams", "3", "--json");
        assertEquals(0, beam.exit(), beam.err());
        assertEquals(Json.MAPPER.readTree(beam.out()).get("text").asText(), o.get("text").asText());
    }

    @Test
    void aBadSpecIsAUsageErrorNamingTheJsonPath() {
        Result r = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy",
                "{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"foo\"},\"inner\":{\"type\":\"sample\"}}");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("metagen: --strategy $.scorer.type: unknown scorer 'foo' (known: "), r.err());
        Result unknown = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", "{\"type\":\"cascade\",\"stages\":[{\"generator\":{\"type\":\"bean\"}}]}");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("$.stages[0].generator.type: unknown generator 'bean' (known: "), unknown.err());
        Result badBeam = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy",
                "{\"type\":\"refine\",\"verifier\":{\"type\":\"contains\",\"words\":[\"x\"]},\"inner\":{\"type\":\"beam\",\"beamz\":2}}");
        assertEquals(1, badBeam.exit());
        assertTrue(badBeam.err().startsWith("metagen: error: $.inner.beamz: unknown field"), badBeam.err());
    }
}
