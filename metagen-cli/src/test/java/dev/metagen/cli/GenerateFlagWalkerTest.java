package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

import static dev.metagen.cli.StrategyCliTest.STORIES;
import static dev.metagen.cli.StrategyCliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Walks every option of {@code generate}, read from picocli's model, through a table that classifies each one:
 * a generation parameter (it changes a seeded sample of stories260K, and a {@code --strategy} leaf inherits it: the
 * leaf gives exactly the plain run's output), a flag that picks the generator (refused beside {@code --strategy}
 * with a message naming it), or something else (model, threads, output format ...). An option added to the command
 * without a row here fails the walk.
 */
class GenerateFlagWalkerTest {
    static final String SAMPLE = "{\"type\":\"sample\"}";
    static final String GREEDY = "{\"type\":\"greedy\"}";

    /** The settings of every run: loose, so that each sampler of the chain has something to cut. */
    static final Map<String, String> BASE = new LinkedHashMap<>();

    static {
        BASE.put("-p", "Once upon a time");
        BASE.put("-n", "12");
        BASE.put("--seed", "7");
        BASE.put("--temperature", "1.5");
        BASE.put("--top-k", "0");
        BASE.put("--top-p", "1");
        BASE.put("--min-p", "0");
    }

    @TempDir
    static Path dir;
    static JsonNode baseline;
    static JsonNode greedyBaseline;
    static Path schema;
    static Path schemaWithUnsupported;
    static Path grammar;

    /**
     * A generation parameter: {@code context} (also in the run it is compared with) and {@code variant}, both
     * computed from the baseline; {@code greedy}: also checked through a greedy leaf against a plain
     * {@code --temperature 0} run.
     */
    record Parameter(Function<JsonNode, List<String>> context, Function<JsonNode, List<String>> variant, boolean greedy) {
    }

    static Parameter changes(String... variant) {
        return new Parameter(b -> List.of(), b -> List.of(variant), false);
    }

    static Parameter changesGreedyToo(String... variant) {
        return new Parameter(b -> List.of(), b -> List.of(variant), true);
    }

    static Parameter with(List<String> context, String... variant) {
        return new Parameter(b -> context, b -> List.of(variant), false);
    }

    static final Map<String, Parameter> PARAMETERS = new LinkedHashMap<>();
    /** A flag that picks (or sets) the generator, and a value for it. */
    static final Map<String, List<String>> GENERATORS = new LinkedHashMap<>();
    /** Neither: why the option is not a parameter of the generation. */
    static final Map<String, String> OTHERS = new LinkedHashMap<>();

    static {
        PARAMETERS.put("--max-tokens", changesGreedyToo("-n", "5"));
        PARAMETERS.put("--seed", changes("--seed", "8"));
        PARAMETERS.put("--no-bos", changesGreedyToo("--no-bos"));
        PARAMETERS.put("--stop", new Parameter(b -> List.of(), b -> List.of("--stop", thirdWord(b)), true));
        PARAMETERS.put("--logprobs", changesGreedyToo("--logprobs", "2"));
        // the sampler chain
        PARAMETERS.put("--temperature", changes("--temperature", "0.4"));
        PARAMETERS.put("--top-k", changes("--top-k", "2"));
        PARAMETERS.put("--top-p", changes("--top-p", "0.3"));
        PARAMETERS.put("--min-p", changes("--min-p", "0.3"));
        PARAMETERS.put("--typical-p", changes("--typical-p", "0.2"));
        PARAMETERS.put("--epsilon", changes("--epsilon", "0.2"));
        PARAMETERS.put("--eta", changes("--eta", "0.2"));
        PARAMETERS.put("--top-n-sigma", changes("--top-n-sigma", "0.5"));
        PARAMETERS.put("--dynatemp-range", changes("--dynatemp-range", "1.4"));
        PARAMETERS.put("--dynatemp-exp", with(List.of("--dynatemp-range", "1.4"), "--dynatemp-exp", "0.1"));
        PARAMETERS.put("--mirostat", changes("--mirostat", "2", "--mirostat-tau", "1"));
        PARAMETERS.put("--mirostat-tau", with(List.of("--mirostat", "2"), "--mirostat-tau", "1"));
        PARAMETERS.put("--mirostat-eta", with(List.of("--mirostat", "2", "--mirostat-tau", "1"), "--mirostat-eta", "1"));
        PARAMETERS.put("--xtc-probability", changes("--xtc-probability", "1", "--xtc-threshold", "0.01"));
        PARAMETERS.put("--xtc-threshold", with(List.of("--xtc-probability", "1"), "--xtc-threshold", "0.01"));
        // DRY, the penalties and the n-gram ban act on repeats: greedy decoding repeats itself, and continues a
        // prompt that already holds what it is about to write by repeating it
        List<String> repeats = List.of("--temperature", "0", "-n", "40");
        List<String> echoes = List.of("-p", "Once upon a time, there was a little girl named Lily. She loved to play. Once upon a time",
                "--temperature", "0");
        PARAMETERS.put("--dry-multiplier", with(concat(echoes, "--dry-allowed-length", "1"), "--dry-multiplier", "0.5"));
        PARAMETERS.put("--dry-allowed-length", with(concat(echoes, "--dry-multiplier", "0.5"), "--dry-allowed-length", "4"));
        PARAMETERS.put("--dry-base", with(concat(echoes, "--dry-multiplier", "0.5", "--dry-allowed-length", "1"), "--dry-base", "4"));
        PARAMETERS.put("--dry-penalty-last-n", with(concat(echoes, "--dry-multiplier", "0.5", "--dry-allowed-length", "1"),
                "--dry-penalty-last-n", "3"));
        PARAMETERS.put("--repeat-penalty", new Parameter(b -> repeats, b -> List.of("--repeat-penalty", "3"), false));
        PARAMETERS.put("--frequency-penalty", with(repeats, "--frequency-penalty", "2"));
        PARAMETERS.put("--presence-penalty", with(repeats, "--presence-penalty", "2"));
        PARAMETERS.put("--repeat-last-n", with(concat(repeats, "--repeat-penalty", "3"), "--repeat-last-n", "2"));
        PARAMETERS.put("--no-repeat-ngram", changesGreedyToo("--no-repeat-ngram", "1"));
        PARAMETERS.put("--logit-bias", new Parameter(b -> List.of(), b -> List.of("--logit-bias", token(b, 0) + "=-inf"), true));
        PARAMETERS.put("--stop-token", new Parameter(b -> List.of(), b -> List.of("--stop-token", String.valueOf(token(b, 2))), true));
        // a stop token the baseline meets early, held back by the minimum length
        PARAMETERS.put("--min-tokens", new Parameter(b -> List.of("--stop-token", String.valueOf(token(b, 2))),
                b -> List.of("--min-tokens", "8"), true));
        PARAMETERS.put("--samplers", changes("--samplers", "top_k;top_p")); // no temperature step: the draw is at T=1
        // constraints
        PARAMETERS.put("--regex", changesGreedyToo("--regex", "( [a-z]{1,3})+"));
        PARAMETERS.put("--choice", changesGreedyToo("--choice", "dog", "--choice", "cat"));
        PARAMETERS.put("--json-object", changesGreedyToo("--json-object"));
        PARAMETERS.put("--json-schema", new Parameter(b -> List.of(), b -> List.of("--json-schema", schema.toString()), true));
        PARAMETERS.put("--grammar", new Parameter(b -> List.of(), b -> List.of("--grammar", grammar.toString()), true));
        // --best-effort lets a schema with an unsupported keyword through (without it the schema is refused: checked below)
        PARAMETERS.put("--best-effort", new Parameter(b -> List.of(), b -> List.of("--json-schema", schemaWithUnsupported.toString(),
                "--best-effort"), true));
        // guidance
        PARAMETERS.put("--cfg-scale", changesGreedyToo("--cfg-scale", "3"));
        PARAMETERS.put("--cfg-negative-prompt", new Parameter(b -> List.of("--cfg-scale", "3"),
                b -> List.of("--cfg-negative-prompt", "The dog ran"), true));
        PARAMETERS.put("--amateur", new Parameter(b -> List.of(), b -> List.of("--amateur", STORIES.toString()), true));
        PARAMETERS.put("--cd-alpha", new Parameter(b -> List.of("--amateur", STORIES.toString()), b -> List.of("--cd-alpha", "0.6"), true));
        PARAMETERS.put("--expert", new Parameter(b -> List.of(), b -> List.of("--expert", STORIES.toString()), true));
        PARAMETERS.put("--expert-weight", new Parameter(b -> List.of("--expert", STORIES.toString()),
                b -> List.of("--expert-weight", "-0.7"), true));

        GENERATORS.put("--beams", List.of("--beams", "2"));
        GENERATORS.put("--length-penalty", List.of("--length-penalty", "0.5"));
        GENERATORS.put("--early-stopping", List.of("--early-stopping"));
        GENERATORS.put("--num-return-sequences", List.of("--num-return-sequences", "2"));
        GENERATORS.put("--diverse-groups", List.of("--diverse-groups", "2"));
        GENERATORS.put("--diversity-penalty", List.of("--diversity-penalty", "1"));
        GENERATORS.put("--stochastic-beams", List.of("--stochastic-beams", "2"));
        GENERATORS.put("--contrastive-alpha", List.of("--contrastive-alpha", "0.5"));
        GENERATORS.put("--contrastive-k", List.of("--contrastive-k", "3"));
        GENERATORS.put("--draft", List.of("--draft", STORIES.toString()));
        GENERATORS.put("--draft-k", List.of("--draft-k", "2"));
        GENERATORS.put("--lookup", List.of("--lookup"));
        GENERATORS.put("--lookup-ngram", List.of("--lookup-ngram", "2"));
        GENERATORS.put("--parallel", List.of("--parallel", "2"));

        OTHERS.put("--model", "which model runs (named models are checked by OneSpineCliTest)");
        OTHERS.put("--prompt", "the input");
        OTHERS.put("--trace-html", "an output format: the trace as a page (checked by TraceHtmlCliTest)");
        OTHERS.put("--threads", "parallelism of the forward pass: results are the same for any count");
        OTHERS.put("--kv-budget-mib", "memory of the KV cache");
        OTHERS.put("--no-prefix-cache", "reuse of cached prompt blocks: the same results either way");
        OTHERS.put("--gpu-layers", "layers llama.cpp offloads to a GPU build's device (LlamaCppBackendCliTest)");
        OTHERS.put("--llama-lib", "which libllama the llama.cpp backend loads (LlamaCppBackendCliTest)");
        OTHERS.put("--backend", "where the model runs: the same greedy text on both backends (LlamaCppBackendCliTest)");
        OTHERS.put("--ctx", "the context length of the loaded model");
        OTHERS.put("--echo", "prints the prompt before the text (also with --strategy: checked below)");
        OTHERS.put("--json", "the output format");
        OTHERS.put("--strategy", "the meta-generation spec itself");
        for (String s : SandboxOptions.NAMES) {
            OTHERS.put(s, "the operator's limits on a strategy's code tools (StrategyCliTest)");
        }
        for (String s : List.of("--allow-tool-url", "--tool-timeout-ms", "--tool-max-bytes")) {
            OTHERS.put(s, "the operator's allow-list and limits of a strategy's http tools (ToolLoopCliTest)");
        }
        OTHERS.put("--help", "usage");
        OTHERS.put("--version", "version");
    }

    static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

    static int token(JsonNode o, int i) {
        return o.get("tokens").get(i).asInt();
    }

    /** A word from the middle of the baseline text, as a stop string. */
    static String thirdWord(JsonNode o) {
        String[] words = o.get("text").asText().strip().split("\\s+");
        return words[Math.min(2, words.length - 1)];
    }

    @BeforeAll
    static void prepare() throws Exception {
        schema = Files.writeString(dir.resolve("schema.json"),
                "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}");
        schemaWithUnsupported = Files.writeString(dir.resolve("not.json"),
                "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"],\"not\":{\"required\":[\"b\"]}}");
        grammar = Files.writeString(dir.resolve("yes-no.gbnf"), "root ::= \" yes\" | \" no\" | \" maybe so\"\n");
        baseline = generate(List.of());
        greedyBaseline = generate(List.of("--temperature", "0"));
    }

    /** {@code generate --json} with the base settings, each replaced by {@code args} where they name it. */
    static StrategyCliTest.Result raw(List<String> args) {
        List<String> all = new ArrayList<>(List.of("generate", "-m", STORIES.toString(), "--threads", "1", "--json"));
        for (var e : BASE.entrySet()) {
            if (!args.contains(e.getKey())) {
                all.add(e.getKey());
                all.add(e.getValue());
            }
        }
        all.addAll(args);
        return run(all.toArray(String[]::new));
    }

    static JsonNode generate(List<String> args) throws Exception {
        StrategyCliTest.Result r = raw(args);
        assertEquals(0, r.exit(), args + ": " + r.err());
        return Json.MAPPER.readTree(r.out());
    }

    /** What a run produced: its tokens, and the top alternatives when asked for. */
    static String outcome(JsonNode o) {
        return o.get("tokens") + (o.has("top_logprobs") ? " top " + o.get("top_logprobs") : "");
    }

    /** Later occurrences of a base flag replace earlier ones (the walker's lists name each flag once). */
    static List<String> merge(List<String> context, List<String> variant) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < context.size(); i++) {
            String a = context.get(i);
            boolean valued = i + 1 < context.size() && !context.get(i + 1).startsWith("--");
            if (variant.contains(a) && !a.equals("--choice")) {
                i += valued ? 1 : 0;
                continue;
            }
            out.add(a);
            if (valued) {
                out.add(context.get(++i));
            }
        }
        out.addAll(variant);
        return out;
    }

    @Test
    void everyOptionOfGenerateIsClassified() {
        List<String> names = new ArrayList<>();
        for (OptionSpec o : MetagenCommand.newCommandLine().getSubcommands().get("generate").getCommandSpec().options()) {
            names.add(o.longestName());
        }
        List<String> unclassified = new ArrayList<>();
        List<String> twice = new ArrayList<>();
        for (String n : names) {
            int rows = (PARAMETERS.containsKey(n) ? 1 : 0) + (GENERATORS.containsKey(n) ? 1 : 0) + (OTHERS.containsKey(n) ? 1 : 0);
            if (rows == 0) {
                unclassified.add(n);
            } else if (rows > 1) {
                twice.add(n);
            }
        }
        assertTrue(unclassified.isEmpty(), "options of generate that the walker does not classify (add a row: a parameter"
                + " with a value that changes a sample, a generator flag, or why it is neither): " + unclassified);
        assertTrue(twice.isEmpty(), "classified twice: " + twice);
        TreeSet<String> stale = new TreeSet<>(PARAMETERS.keySet());
        stale.addAll(GENERATORS.keySet());
        stale.addAll(OTHERS.keySet());
        names.forEach(stale::remove);
        assertTrue(stale.isEmpty(), "rows for options that generate no longer has: " + stale);
    }

    @Test
    void everyParameterChangesASampleAndReachesAStrategysLeaves() throws Exception {
        List<String> failures = new ArrayList<>();
        for (var e : PARAMETERS.entrySet()) {
            String flag = e.getKey();
            Parameter p = e.getValue();
            List<String> context = p.context().apply(baseline);
            List<String> variant = p.variant().apply(baseline);
            try {
                JsonNode before = generate(context);
                JsonNode after = generate(merge(context, variant));
                if (outcome(before).equals(outcome(after))) {
                    failures.add(flag + " " + variant + " changed nothing (" + after.get("text").asText() + ")");
                }
                JsonNode leaf = generate(concat(merge(context, variant), "--strategy", SAMPLE));
                if (!outcome(after).equals(outcome(leaf))) {
                    failures.add(flag + " " + variant + ": a sample leaf gave " + outcome(leaf) + ", the plain run " + outcome(after));
                }
                if (p.greedy()) {
                    List<String> g = merge(merge(context, List.of("--temperature", "0")), p.variant().apply(greedyBaseline));
                    JsonNode plainGreedy = generate(g);
                    JsonNode greedyLeaf = generate(concat(g, "--strategy", GREEDY));
                    if (!outcome(plainGreedy).equals(outcome(greedyLeaf))) {
                        failures.add(flag + " greedy: a greedy leaf gave " + outcome(greedyLeaf) + ", the plain run " + outcome(plainGreedy));
                    }
                }
            } catch (AssertionError | RuntimeException x) {
                failures.add(flag + ": " + x.getMessage());
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    @Test
    void parametersThatNeedAnotherSettingSayWhat() {
        // --best-effort's documented alternative: the schema's unsupported keyword is refused, naming it
        StrategyCliTest.Result strict = raw(List.of("--json-schema", schemaWithUnsupported.toString()));
        assertEquals(1, strict.exit(), strict.err());
        assertTrue(strict.err().contains("/not"), strict.err());
        StrategyCliTest.Result alone = raw(List.of("--best-effort"));
        assertEquals(2, alone.exit(), alone.err());
        assertTrue(alone.err().contains("--best-effort applies to --json-schema only"), alone.err());
        StrategyCliTest.Result weights = raw(List.of("--expert-weight", "2"));
        assertEquals(2, weights.exit(), weights.err());
        assertTrue(weights.err().contains("--expert-weight"), weights.err());
        StrategyCliTest.Result logprobsText = run("generate", "-m", STORIES.toString(), "-p", "x", "-n", "2", "--logprobs", "2",
                "--strategy", SAMPLE);
        assertEquals(2, logprobsText.exit(), logprobsText.err());
        assertTrue(logprobsText.err().contains("add --json or --trace-html FILE"), logprobsText.err());
    }

    @Test
    void everyGeneratorFlagIsRefusedBesideAStrategyNamingIt() {
        List<String> failures = new ArrayList<>();
        for (var e : GENERATORS.entrySet()) {
            StrategyCliTest.Result r = raw(concat(e.getValue(), "--strategy", SAMPLE));
            if (r.exit() != 2 || !r.err().contains(e.getKey() + " picks or sets the generator")
                    || !r.err().contains("with --strategy, choose it in the spec")) {
                failures.add(e.getKey() + " beside --strategy: exit " + r.exit() + ", " + r.err().strip());
            }
        }
        // a setting of a generator that is not chosen is refused too, not dropped
        for (String setting : List.of("--length-penalty", "--early-stopping", "--diversity-penalty", "--contrastive-k",
                "--draft-k", "--lookup-ngram")) {
            StrategyCliTest.Result r = raw(GENERATORS.get(setting));
            if (r.exit() != 2 || !r.err().contains(setting + " applies to ")) {
                failures.add(setting + " alone: exit " + r.exit() + ", " + r.err().strip());
            }
        }
        StrategyCliTest.Result lookupWithDraft = raw(List.of("--draft", STORIES.toString(), "--lookup-ngram", "2"));
        if (lookupWithDraft.exit() != 2 || !lookupWithDraft.err().contains("--lookup-ngram applies to prompt lookup")) {
            failures.add("--lookup-ngram with --draft: exit " + lookupWithDraft.exit() + ", " + lookupWithDraft.err().strip());
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures:\n" + String.join("\n", failures));
    }

    @Test
    void echoPrintsThePromptWithAStrategyToo() {
        StrategyCliTest.Result plain = run("generate", "-m", STORIES.toString(), "-p", "Once upon a", "-n", "5",
                "--temperature", "0", "--threads", "1", "--echo");
        StrategyCliTest.Result leaf = run("generate", "-m", STORIES.toString(), "-p", "Once upon a", "-n", "5",
                "--temperature", "0", "--threads", "1", "--echo", "--strategy", GREEDY);
        assertEquals(0, plain.exit(), plain.err());
        assertEquals(0, leaf.exit(), leaf.err());
        assertTrue(plain.out().startsWith("Once upon a"), plain.out());
        assertEquals(plain.out(), leaf.out());
    }
}
