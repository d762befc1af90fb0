package dev.metagen.meta.spec;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.testing.CategoricalGenerator;
import dev.metagen.meta.tools.CodeTestVerifier;
import dev.metagen.meta.tools.Sandbox;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Strategy specs: every registered type builds, and malformed or unknown input names its JSON path. */
class StrategySpecsTest {
    static final CategoricalGenerator FAKE = new CategoricalGenerator(new String[]{"1", "2", "3"}, new double[]{0.5, 0.3, 0.2});

    /** A test leaf factory: "sample" is the categorical generator, "greedy" fixes temperature 0 on it. */
    static final LeafFactory LEAVES = new LeafFactory() {
        @Override
        public Set<String> types() {
            return Set.of("sample", "greedy");
        }

        @Override
        public Generator create(String type, SpecNode node) {
            return FAKE;
        }
    };

    static StrategySpecs specs() {
        return new StrategySpecs(LEAVES);
    }

    static String error(String json) {
        return assertThrows(MetagenException.class, () -> specs().parse(json)).getMessage();
    }

    @Test
    void unknownComponentsNameThePathAndTheKnownNames() {
        assertEquals("$.inner.scorer.type: unknown scorer 'foo' (known: contains, judge, logprob, mean_logprob, orm, prm, python_tests, regex, remote_reward, threshold, verifier)",
                error("{\"type\":\"majority_vote\",\"inner\":{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"foo\"},\"inner\":{\"type\":\"sample\"}}}"));
        assertTrue(error("{\"type\":\"nope\"}").startsWith("$.type: unknown generator 'nope' (known: adaptive_consistency, best_first, best_of_n"));
        assertTrue(error("{\"type\":\"majority_vote\",\"inner\":{\"type\":\"sample\"},\"extractor\":{\"type\":\"bad\"}}")
                .startsWith("$.extractor.type: unknown extractor 'bad' (known: boxed, json_field"));
        assertTrue(error("{\"type\":\"mbr\",\"inner\":{\"type\":\"sample\"},\"utility\":{\"type\":\"bleu\"}}")
                .startsWith("$.utility.type: unknown utility 'bleu'"));
    }

    @Test
    void malformedAndMistypedSpecsNameWhere() {
        assertTrue(error("{\"type\": \"best_of_n\", ").startsWith("$: malformed JSON at line 1"), error("{\"type\": \"best_of_n\", "));
        assertEquals("$.n: expected an integer, got string \"4\"", error("{\"type\":\"best_of_n\",\"n\":\"4\",\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"sample\"}}"));
        assertEquals("$.n: must be >= 1, got 0", error("{\"type\":\"best_of_n\",\"n\":0,\"scorer\":{\"type\":\"logprob\"},\"inner\":{\"type\":\"sample\"}}"));
        assertEquals("$.inner: required object is missing", error("{\"type\":\"best_of_n\",\"scorer\":{\"type\":\"logprob\"}}"));
        assertEquals("$.inner.temprature: unknown field (known here: type)", error("{\"type\":\"majority_vote\",\"inner\":{\"type\":\"sample\",\"temprature\":1}}").replaceAll("known here: \\[(.*)]", "known here: $1"));
        assertEquals("$.type: missing generator \"type\" (a string)", error("{\"n\":3}"));
        assertEquals("$: expected a JSON object, got an array", error("[1]"));
        assertTrue(error("{\"type\":\"rejection_sampling\",\"inner\":{\"type\":\"sample\"},\"verifier\":{\"type\":\"regex\",\"pattern\":\"(\"}}")
                .startsWith("$.verifier.pattern: invalid regular expression"));
        assertEquals("$.verifier.type: scorer 'logprob' is not a verifier (verifiers: regex, contains, threshold)",
                error("{\"type\":\"rejection_sampling\",\"inner\":{\"type\":\"sample\"},\"verifier\":{\"type\":\"logprob\"}}"));
        assertTrue(error("/no/such/strategy.json").startsWith("$: cannot read strategy file /no/such/strategy.json"));
        assertEquals("$.mode: unknown mode 'astar' (known: bfs, dfs)",
                error("{\"type\":\"tot\",\"mode\":\"astar\",\"inner\":{\"type\":\"sample\"},\"value\":{\"type\":\"logprob\"}}"));
    }

    @Test
    void everyStrategyTypeBuildsAndRuns(@TempDir Path dir) throws Exception {
        String leaf = "{\"type\":\"sample\",\"temperature\":0.7,\"max_tokens\":4}";
        List<String> specs = List.of(
                "{\"type\":\"best_of_n\",\"n\":3,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"majority_vote\",\"n\":3,\"extractor\":{\"type\":\"last_number\"},\"inner\":" + leaf + "}",
                "{\"type\":\"weighted_vote\",\"n\":3,\"exp_weights\":true,\"scorer\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"mbr\",\"n\":3,\"utility\":{\"type\":\"chrf\"},\"inner\":" + leaf + "}",
                "{\"type\":\"usc\",\"n\":3,\"inner\":" + leaf + ",\"selector\":{\"type\":\"greedy\"}}",
                "{\"type\":\"rejection_sampling\",\"max_samples\":3,\"verifier\":{\"type\":\"contains\",\"words\":[\"2\"]},\"inner\":" + leaf + "}",
                "{\"type\":\"adaptive_consistency\",\"max_samples\":6,\"confidence\":0.9,\"inner\":" + leaf + "}",
                "{\"type\":\"step_beam_search\",\"beam_width\":2,\"expand\":2,\"max_steps\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"best_first\",\"expand\":2,\"max_expansions\":3,\"scorer\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"tot\",\"mode\":\"dfs\",\"k\":2,\"max_steps\":2,\"value\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"tot\",\"mode\":\"bfs\",\"k\":2,\"max_steps\":2,\"vote\":{\"judge\":{\"type\":\"sample\"},\"votes\":2},\"inner\":" + leaf + "}",
                "{\"type\":\"mcts\",\"iterations\":3,\"width\":2,\"max_steps\":2,\"rollouts\":true,\"scorer\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"dvts\",\"n\":4,\"width\":2,\"max_steps\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":" + leaf + "}",
                "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"judge\",\"judge\":{\"type\":\"greedy\"}},\"inner\":" + leaf + "}");
        for (String json : specs) {
            Path file = dir.resolve("s.json");
            Files.writeString(file, json);
            StrategySpecs.Strategy s = specs().parse(file.toString());
            MetaGenerator g = assertInstanceOf(MetaGenerator.class, s.generator(), json);
            Generation r = g.generate(Prompt.of("Q: "), new GenerationParams(8, 1.0, 0, 1.0, 42, true, List.of()));
            assertEquals(s.type(), r.trace().get("strategy"), json);
            assertTrue(r.cost().modelCalls() > 0, json);
        }
    }

    @Test
    void topLevelBudgetIsParsed() {
        var s = specs().parse("{\"type\":\"majority_vote\",\"budget\":{\"tokens\":3,\"calls\":10,\"time_ms\":5000},\"inner\":{\"type\":\"sample\"}}");
        assertEquals(3, s.budget().generatedTokens());
        assertEquals(10, s.budget().modelCalls());
        assertEquals(5000, s.budget().time().toMillis());
        assertTrue(error("{\"type\":\"majority_vote\",\"budget\":{\"token\":3},\"inner\":{\"type\":\"sample\"}}").startsWith("$.budget.token: unknown field"));
    }

    static Sandbox.Limits pythonTestsLimits(StrategySpecs specs, String fields) throws Exception {
        var node = new SpecNode(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                "{\"type\":\"python_tests\",\"tests\":\"pass\"" + fields + "}"), "$.scorer");
        return assertInstanceOf(CodeTestVerifier.class, specs.scorer(node)).sandbox().limits();
    }

    @Test
    void codeToolLimitsMayOnlyLowerTheOperatorsCeiling() throws Exception {
        Sandbox.Limits ceiling = new Sandbox.Limits(Duration.ofSeconds(3), 256L << 20, 2, 1000);
        StrategySpecs capped = new StrategySpecs(LEAVES, ceiling);
        // unset fields: the default, lowered to the ceiling
        assertEquals(ceiling, pythonTestsLimits(capped, ""));
        assertEquals(Sandbox.Limits.DEFAULT, pythonTestsLimits(specs(), ""));
        Sandbox.Limits lower = pythonTestsLimits(capped, ",\"timeout_ms\":500,\"memory_mb\":64,\"cpu_seconds\":1,\"max_output_bytes\":10");
        assertEquals(new Sandbox.Limits(Duration.ofMillis(500), 64L << 20, 1, 10), lower);
        for (String[] f : new String[][]{{"timeout_ms", "3001", "3000", "--sandbox-timeout-ms"}, {"memory_mb", "257", "256", "--sandbox-memory-mb"},
                {"cpu_seconds", "3", "2", "--sandbox-cpu-seconds"}, {"max_output_bytes", "1001", "1000", "--sandbox-max-output-bytes"}}) {
            String msg = assertThrows(StrategySpecException.class, () -> pythonTestsLimits(capped, ",\"" + f[0] + "\":" + f[1])).getMessage();
            assertEquals("$.scorer." + f[0] + ": " + f[1] + " is above the operator's limit of " + f[2] + " (" + f[3]
                    + "); a spec may only lower the sandbox's limits", msg);
        }
        // the python tool of a chain obeys the same ceiling
        String chain = "{\"type\":\"chain\",\"links\":[{\"kind\":\"tool\",\"as\":\"out\",\"template\":\"print(1)\","
                + "\"tool\":{\"type\":\"python\",\"timeout_ms\":60000}}]}";
        assertEquals("$.links[0].tool.timeout_ms: 60000 is above the operator's limit of 3000 (--sandbox-timeout-ms); a spec may only lower the sandbox's limits",
                assertThrows(StrategySpecException.class, () -> capped.parse(chain)).getMessage());
        assertEquals("$.links[0].tool.timeout_ms: 60000 is above the operator's limit of 5000 (--sandbox-timeout-ms); a spec may only lower the sandbox's limits",
                assertThrows(StrategySpecException.class, () -> specs().parse(chain)).getMessage());
    }
}
