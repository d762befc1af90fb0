package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.metagen.cli.StrategyCliTest.STORIES;
import static dev.metagen.cli.StrategyCliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One parameter model through every front end of {@code generate}: a flag acts the same in a plain generation, under
 * {@code --strategy} (its leaves inherit the command line) and as a field of a spec leaf, or is refused with a clear
 * error; named models reach leaves and guidance.
 */
class OneSpineCliTest {
    static final String GREEDY = "{\"type\":\"greedy\"}";
    static final String SAMPLE = "{\"type\":\"sample\"}";

    static JsonNode json(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("generate", "-m", STORIES.toString(), "-p", "Once upon a time",
                "--threads", "1", "--json"));
        all.addAll(List.of(args));
        StrategyCliTest.Result r = run(all.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        return Json.MAPPER.readTree(r.out());
    }

    static List<Integer> tokens(JsonNode o) {
        List<Integer> out = new ArrayList<>();
        o.get("tokens").forEach(t -> out.add(t.asInt()));
        return out;
    }

    @Test
    void aBannedTokenIsBannedInAPlainRunUnderAStrategyAndInASpecLeaf() throws Exception {
        JsonNode plain = json("-n", "16", "--temperature", "0");
        int first = plain.get("tokens").get(0).asInt();
        String ban = first + "=-inf";
        assertFalse(tokens(json("-n", "16", "--temperature", "0", "--logit-bias", ban)).contains(first));
        assertFalse(tokens(json("-n", "16", "--logit-bias", ban, "--strategy", GREEDY)).contains(first));
        assertFalse(tokens(json("-n", "16", "--strategy", "{\"type\":\"greedy\",\"logit_bias\":{\"" + first + "\":\"-inf\"}}")).contains(first));
        // and under a parent strategy: every vote's sample inherits the ban
        JsonNode vote = json("-n", "8", "--seed", "3", "--logit-bias", ban, "--strategy",
                "{\"type\":\"majority_vote\",\"n\":3,\"extractor\":{\"type\":\"text\"},\"inner\":" + SAMPLE + "}");
        assertFalse(tokens(vote).contains(first));
    }

    @Test
    void minPActsUnderAStrategyAsInAPlainRun() throws Exception {
        String[] base = {"-n", "24", "--seed", "11", "--temperature", "1.5", "--top-k", "0", "--top-p", "1"};
        List<String> a = new ArrayList<>(List.of(base));
        a.addAll(List.of("--min-p", "0", "--strategy", SAMPLE));
        List<String> b = new ArrayList<>(List.of(base));
        b.addAll(List.of("--min-p", "0.9", "--strategy", SAMPLE));
        List<String> c = new ArrayList<>(List.of(base));
        c.addAll(List.of("--min-p", "0.9"));
        JsonNode loose = json(a.toArray(String[]::new));
        JsonNode strict = json(b.toArray(String[]::new));
        JsonNode plainStrict = json(c.toArray(String[]::new));
        assertNotEquals(loose.get("text").asText(), strict.get("text").asText());
        // the strategy's leaf samples exactly as the plain run with the same settings and seed
        assertEquals(plainStrict.get("text").asText(), strict.get("text").asText());
    }

    @Test
    void aSpecLeafFieldOverridesTheCommandLine() throws Exception {
        JsonNode greedyFlag = json("-n", "12", "--temperature", "0");
        JsonNode overridden = json("-n", "12", "--temperature", "1.5", "--seed", "1",
                "--strategy", "{\"type\":\"sample\",\"temperature\":0}");
        assertEquals(greedyFlag.get("text").asText(), overridden.get("text").asText());
        // max_tokens in a leaf only lowers the caller's limit
        JsonNode capped = json("-n", "12", "--temperature", "0", "--strategy", "{\"type\":\"greedy\",\"max_tokens\":4}");
        assertEquals(4, capped.get("tokens").size());
        JsonNode notRaised = json("-n", "3", "--temperature", "0", "--strategy", "{\"type\":\"greedy\",\"max_tokens\":40}");
        assertEquals(3, notRaised.get("tokens").size());
    }

    @Test
    void constraintsTakeTheSamplerFlagsAndLogprobs() throws Exception {
        JsonNode plain = json("-n", "6", "--temperature", "0", "--choice", "dog", "--choice", "cat");
        String chosen = plain.get("text").asText();
        assertTrue(chosen.equals("dog") || chosen.equals("cat"), chosen);
        int firstToken = plain.get("tokens").get(0).asInt();
        JsonNode banned = json("-n", "6", "--temperature", "0", "--choice", "dog", "--choice", "cat",
                "--logit-bias", firstToken + "=-inf", "--logprobs", "2");
        assertNotEquals(chosen, banned.get("text").asText(), "the bias acts inside the constraint");
        assertEquals(banned.get("tokens").size(), banned.get("top_logprobs").size());
        // the same constraint inherited by a strategy's leaf
        JsonNode viaStrategy = json("-n", "6", "--temperature", "0", "--choice", "dog", "--choice", "cat",
                "--strategy", GREEDY);
        assertEquals(chosen, viaStrategy.get("text").asText());
    }

    @Test
    void logprobsReachTheOutputThroughAStrategy() throws Exception {
        JsonNode plain = json("-n", "6", "--temperature", "0", "--logprobs", "3");
        JsonNode leaf = json("-n", "6", "--temperature", "0", "--logprobs", "3", "--strategy", GREEDY);
        JsonNode best = json("-n", "6", "--temperature", "0", "--logprobs", "3", "--strategy",
                "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"logprob\"},\"inner\":" + GREEDY + "}");
        assertEquals(6, plain.get("top_logprobs").size());
        assertEquals(plain.get("top_logprobs"), leaf.get("top_logprobs"));
        assertEquals(plain.get("top_logprobs"), best.get("top_logprobs"));
        assertEquals(3, best.get("top_logprobs").get(0).size());
    }

    @Test
    void flagsAGeneratorCannotHonourAreRefusedNotDropped() {
        StrategyCliTest.Result beam = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4", "--beams", "2",
                "--xtc-probability", "0.5");
        assertEquals(2, beam.exit());
        assertTrue(beam.err().contains("beam search cannot apply xtc_probability"), beam.err());
        StrategyCliTest.Result leafBeam = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4",
                "--mirostat", "2", "--strategy", "{\"type\":\"beam\",\"beams\":2}");
        assertEquals(1, leafBeam.exit());
        assertTrue(leafBeam.err().contains("beam search cannot apply mirostat"), leafBeam.err());
        StrategyCliTest.Result beamsWithStrategy = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4",
                "--beams", "2", "--strategy", GREEDY);
        assertEquals(2, beamsWithStrategy.exit());
        assertTrue(beamsWithStrategy.err().contains("choose it in the spec's leaves"), beamsWithStrategy.err());
        StrategyCliTest.Result logprobsText = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4", "--logprobs", "2");
        assertEquals(2, logprobsText.exit());
        assertTrue(logprobsText.err().contains("add --json"), logprobsText.err());
        StrategyCliTest.Result unknownField = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4",
                "--strategy", "{\"type\":\"sample\",\"min_q\":0.1}");
        assertEquals(2, unknownField.exit());
        assertTrue(unknownField.err().contains("$.min_q"), unknownField.err());
        StrategyCliTest.Result badValue = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4",
                "--strategy", "{\"type\":\"sample\",\"min_p\":2}");
        assertEquals(2, badValue.exit());
        assertTrue(badValue.err().contains("min-p must be in [0, 1]"), badValue.err());
    }

    @Test
    void namedModelsReachLeavesAndGuidance(@TempDir Path dir) throws Exception {
        Path copy = Files.copy(STORIES, dir.resolve("other.gguf"));
        JsonNode named = json("-m", "other=" + copy, "-n", "10", "--temperature", "0",
                "--strategy", "{\"type\":\"greedy\",\"model\":\"other\"}");
        JsonNode plain = json("-n", "10", "--temperature", "0");
        assertEquals(plain.get("text").asText(), named.get("text").asText(), "the same weights under another name");
        StrategyCliTest.Result unknown = run("generate", "-m", STORIES.toString(), "-p", "Once", "-n", "4",
                "--strategy", "{\"type\":\"greedy\",\"model\":\"judge\"}");
        assertEquals(2, unknown.exit(), "a model the run does not name is a usage error, found before loading");
        assertTrue(unknown.err().contains("$.model: unknown model 'judge'"), unknown.err());
        // contrastive decoding against a named amateur equal to the expert: the plausibility mask only
        JsonNode cd = json("-m", "amateur=" + copy, "-n", "10", "--temperature", "0",
                "--strategy", "{\"type\":\"greedy\",\"amateur\":\"amateur\",\"cd_alpha\":0.5}");
        assertEquals(10, cd.get("tokens").size());
        assertTrue(cd.get("trace").toString().contains("amateur"), cd.get("trace").toString());
    }
}
