package dev.metagen.meta.spec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Scorer;
import dev.metagen.meta.Budget;
import dev.metagen.meta.parallel.AdaptiveConsistency;
import dev.metagen.meta.parallel.BestOfN;
import dev.metagen.meta.parallel.MajorityVote;
import dev.metagen.meta.parallel.MinimumBayesRisk;
import dev.metagen.meta.parallel.RejectionSampling;
import dev.metagen.meta.parallel.UniversalSelfConsistency;
import dev.metagen.meta.parallel.WeightedMajorityVote;
import dev.metagen.meta.score.AnswerExtractor;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.ContainsWordsVerifier;
import dev.metagen.meta.score.GenerativeVerifier;
import dev.metagen.meta.score.OutcomeRewardScorer;
import dev.metagen.meta.score.ProcessRewardScorer;
import dev.metagen.meta.score.RemoteRewardScorer;
import dev.metagen.meta.score.LmJudgeScorer;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.score.RegexVerifier;
import dev.metagen.meta.score.Utilities;
import dev.metagen.meta.score.Utility;
import dev.metagen.meta.score.Verifier;
import dev.metagen.meta.tools.Sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import dev.metagen.core.MetagenException;

/**
 * Parses JSON strategy specs ({@code {"type": NAME, ...parameters, "inner": SPEC}}, snake_case) into composed
 * meta-generators; every error names its JSON path, e.g. {@code $.inner.scorer.type: unknown scorer 'foo' (known: ...)}.
 *
 * <p>Example:
 * <pre>{@code
 * StrategySpecs specs = new StrategySpecs(leaves);               // leaves: builds the "sample" leaf
 * StrategySpecs.Strategy s = specs.parse("""
 *         {"type": "majority_vote", "n": 5, "inner": {"type": "sample"}, "budget": {"tokens": 500}}""");
 * MetaGenerator strategy = (MetaGenerator) s.generator();
 * Generation g = strategy.generate(Prompt.of("Q: 2 + 3 = ?\nA:"), GenerationParams.greedy(16), s.budget(),
 *         new Cancellation());
 * }</pre>
 */
public final class StrategySpecs {
    /**
     * A parsed spec: the generator and the budget of the whole run (top-level {@code "budget"}).
     *
     * @param generator the composed generator
     * @param budget the run's budget ({@link Budget#UNLIMITED} when the spec gives none)
     * @param type the top-level spec's type
     */
    public record Strategy(Generator generator, Budget budget, String type) {
        /**
         * Runs the strategy once: a meta-generator under the spec's budget and {@code cancellation}, a leaf directly.
         *
         * @param prompt       the input
         * @param params       the caller's parameters, which the leaves inherit
         * @param cancellation stops every leaf of the tree at its next token
         * @return the strategy's answer, with its cost and trace
         */
        public dev.metagen.core.Generation generate(dev.metagen.core.Prompt prompt, GenerationParams params,
                                                    dev.metagen.meta.Cancellation cancellation) {
            return generate(prompt, params, cancellation, null);
        }

        /**
         * As {@link #generate(dev.metagen.core.Prompt, GenerationParams, dev.metagen.meta.Cancellation)}, with the
         * budget's time lowered to {@code timeLeft} when that comes sooner (a request's deadline).
         *
         * @param prompt       the input
         * @param params       the caller's parameters, which the leaves inherit
         * @param cancellation stops every leaf of the tree at its next token
         * @param timeLeft     the time the caller has left, or null for no limit of its own
         * @return the strategy's answer, with its cost and trace
         */
        public dev.metagen.core.Generation generate(dev.metagen.core.Prompt prompt, GenerationParams params,
                                                    dev.metagen.meta.Cancellation cancellation, java.time.Duration timeLeft) {
            if (!(generator instanceof dev.metagen.meta.MetaGenerator meta)) {
                return generator.generate(prompt, params);
            }
            Budget b = budget;
            if (timeLeft != null && (b.time() == null || b.time().toMillis() > timeLeft.toMillis())) {
                b = b.withTime(timeLeft);
            }
            return meta.generate(prompt, params, b, cancellation);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    private final LeafFactory leaves;
    private final Sandbox.Limits sandboxCeiling;
    private final dev.metagen.meta.tools.HttpTool.Policy httpTools;
    private final Map<String, Function<SpecNode, Generator>> strategies = new LinkedHashMap<>();
    private final Map<String, Function<SpecNode, Scorer>> scorers = new LinkedHashMap<>();
    private final Map<String, Function<SpecNode, AnswerExtractor>> extractors = new LinkedHashMap<>();
    private final Map<String, Function<SpecNode, Utility>> utilities = new LinkedHashMap<>();

    /**
     * Specs whose code tools run within {@link Sandbox.Limits#DEFAULT}.
     *
     * @param leaves builds the leaf generators
     */
    public StrategySpecs(LeafFactory leaves) {
        this(leaves, Sandbox.Limits.DEFAULT);
    }

    /**
     * Specs whose code tools run within an operator's ceiling.
     *
     * @param sandboxCeiling the operator's limits on code tools ({@code python}, {@code python_tests}): a spec's
     *                       {@code timeout_ms}, {@code memory_mb}, {@code cpu_seconds} and {@code max_output_bytes}
     *                       may lower them; a value above is refused, naming the field and the limit
     * @param leaves builds the leaf generators
     */
    public StrategySpecs(LeafFactory leaves, Sandbox.Limits sandboxCeiling) {
        this(leaves, sandboxCeiling, dev.metagen.meta.tools.HttpTool.Policy.NONE);
    }

    /**
     * As above, with the operator's allow-list and limits for {@code http} tools (no URL allowed by default).
     *
     * @param leaves the leaves
     * @param sandboxCeiling the sandbox ceiling
     * @param httpTools the http tools
     */
    public StrategySpecs(LeafFactory leaves, Sandbox.Limits sandboxCeiling, dev.metagen.meta.tools.HttpTool.Policy httpTools) {
        this.leaves = leaves;
        this.sandboxCeiling = java.util.Objects.requireNonNull(sandboxCeiling, "sandboxCeiling");
        this.httpTools = java.util.Objects.requireNonNull(httpTools, "httpTools");
        registerStrategies();
        registerScorers();
        registerExtractors();
        utilities.put("exact_match", n -> Utilities.exactMatch());
        utilities.put("token_f1", n -> Utilities.tokenF1());
        utilities.put("rouge_l", n -> Utilities.rougeL());
        utilities.put("chrf", n -> Utilities.chrF(n.integer("n", 6, 1), n.number("beta", 2, 0, 100)));
    }

    /**
     * The operator's limits on code tools, which specs may only lower.
     *
     * @return the ceiling
     */
    public Sandbox.Limits sandboxCeiling() {
        return sandboxCeiling;
    }

    /**
     * The operator's allow-list and limits of http tools.
     *
     * @return the policy the {@code http} tools of {@code tool_loop} specs run under
     */
    public dev.metagen.meta.tools.HttpTool.Policy httpToolPolicy() {
        return httpTools;
    }

    /**
     * A spec given as inline JSON (starting with '{') or as the path of a JSON file, optionally written {@code @FILE}.
     *
     * @param fileOrJson inline JSON, a file path, or {@code @FILE}
     * @return the generator and its budget
     */
    public Strategy parse(String fileOrJson) {
        String text = fileOrJson.strip();
        if (!text.startsWith("{") && !text.startsWith("[")) {
            Path file = Path.of(text.startsWith("@") ? text.substring(1) : fileOrJson);
            try {
                text = Files.readString(file);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new StrategySpecException("$", "cannot read strategy file " + file + " (no such file; inline JSON starts with '{')");
            } catch (IOException | java.io.UncheckedIOException e) {
                throw new StrategySpecException("$", "cannot read strategy file " + file + " (" + e + ")");
            }
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new StrategySpecException("$", "malformed JSON" + (loc == null ? "" : " at line " + loc.getLineNr()
                    + ", column " + loc.getColumnNr()) + ": " + e.getOriginalMessage());
        }
        SpecNode node = new SpecNode(root, "$");
        Budget budget = Budget.UNLIMITED;
        SpecNode b = node.child("budget");
        if (b != null) {
            budget = budget(b);
        }
        String type = root.path("type").asText("");
        return new Strategy(generator(node), budget, type);
    }

    /** The top-level {@code "budget"} object. */
    static Budget budget(SpecNode b) {
        Budget budget = new Budget(b.longValue("tokens", Long.MAX_VALUE, 0), b.longValue("calls", Long.MAX_VALUE, 0),
                b.has("time_ms") ? Duration.ofMillis(b.longValue("time_ms", 0, 0)) : null);
        b.requireAllUsed();
        return budget;
    }

    // ---- the registry as SpecReference reads it: each builder run on a probe node, parts given as stand-ins

    /** Stands in for a part of a spec under {@link SpecReference}'s probe: never called. */
    private static final Verifier STAND_IN = new Verifier() {
        @Override
        public Verdict verify(dev.metagen.core.Prompt prompt, dev.metagen.core.Generation candidate) {
            throw new IllegalStateException("a stand-in of the spec reference");
        }
    };
    private static final Generator STAND_IN_GENERATOR = (p, params) -> {
        throw new IllegalStateException("a stand-in of the spec reference");
    };

    java.util.Set<String> strategyTypes() {
        return java.util.Collections.unmodifiableSet(strategies.keySet());
    }

    java.util.Set<String> leafTypes() {
        return leaves.types();
    }

    java.util.Set<String> scorerTypes() {
        return java.util.Collections.unmodifiableSet(scorers.keySet());
    }

    java.util.Set<String> extractorTypes() {
        return java.util.Collections.unmodifiableSet(extractors.keySet());
    }

    java.util.Set<String> utilityTypes() {
        return java.util.Collections.unmodifiableSet(utilities.keySet());
    }

    void buildStrategy(String type, SpecNode node) {
        strategies.get(type).apply(node);
    }

    void buildLeaf(String type, SpecNode node) {
        leaves.create(type, node, this);
    }

    void buildScorer(String type, SpecNode node) {
        scorers.get(type).apply(node);
    }

    void buildExtractor(String type, SpecNode node) {
        extractors.get(type).apply(node);
    }

    void buildUtility(String type, SpecNode node) {
        utilities.get(type).apply(node);
    }

    /**
     * A generator spec (a strategy or a leaf).
     *
     * @param node the spec object
     * @return the generator
     */
    public Generator generator(SpecNode node) {
        if (node.isProbe()) {
            node.type("generator");
            return STAND_IN_GENERATOR;
        }
        String type = node.type("generator");
        Generator g;
        if (strategies.containsKey(type)) {
            g = strategies.get(type).apply(node);
        } else if (leaves.types().contains(type)) {
            g = leaf(type, node);
        } else {
            TreeSet<String> known = new TreeSet<>(strategies.keySet());
            known.addAll(leaves.types());
            throw new StrategySpecException(node.path("type"), "unknown generator '" + type + "' (known: " + String.join(", ", known) + ")");
        }
        node.requireAllUsed();
        return g;
    }

    /**
     * A leaf: the factory builds it from its own fields ({@code beams}, {@code model} ...); the generation fields
     * ({@link GenerationFields}: every sampling knob, {@code max_tokens}, {@code stop}, {@code logprobs}, a constraint,
     * guidance) override the caller's parameters on every call. Bad values are reported now, with their path.
     */
    private Generator leaf(String type, SpecNode node) {
        java.util.Map<String, Object> fields = node.values(GenerationFields.ALL);
        if (fields.containsKey("json_schema")) {
            fields.put("json_schema", SpecNode.jsonText(fields.get("json_schema")));
        }
        try {
            GenerationFields.apply(GenerationParams.greedy(1), fields, node.path());
        } catch (GenerationFields.FieldError e) {
            throw new StrategySpecException(e.field(), e.problem());
        } catch (dev.metagen.core.MetagenException e) {
            throw new StrategySpecException(node.path(), e.getMessage());
        }
        Generator g = leaves.create(type, node, this);
        if (fields.isEmpty()) {
            return g;
        }
        return new ParamsOverride(g, fields, node.path());
    }

    private Generator inner(SpecNode node) {
        return generator(node.requireChild("inner"));
    }

    /**
     * A scorer spec.
     *
     * @param node the spec object
     * @return the scorer
     */
    public Scorer scorer(SpecNode node) {
        if (node.isProbe()) {
            node.type("scorer");
            return STAND_IN;
        }
        return component(node, "scorer", scorers);
    }

    /**
     * A scorer spec that must be a verifier ({@code regex}, {@code contains}, {@code threshold} ...).
     *
     * @param node the spec object
     * @return the verifier
     */
    public Verifier verifier(SpecNode node) {
        Scorer s = scorer(node);
        if (s instanceof Verifier v) {
            return v;
        }
        throw new StrategySpecException(node.path("type"), "scorer '" + node.type("verifier")
                + "' is not a verifier (verifiers: regex, contains, threshold)");
    }

    /**
     * An extractor spec ({@code last_number} when absent).
     *
     * @param node the spec object, or null
     * @return the extractor
     */
    public AnswerExtractor extractor(SpecNode node) {
        if (node == null) {
            return AnswerExtractors.lastNumber();
        }
        if (node.isProbe()) {
            node.type("extractor");
            return AnswerExtractors.text();
        }
        return component(node, "extractor", extractors);
    }

    /**
     * A utility spec ({@code rouge_l} when absent).
     *
     * @param node the spec object, or null
     * @return the utility
     */
    public Utility utility(SpecNode node) {
        if (node == null) {
            return Utilities.rougeL();
        }
        if (node.isProbe()) {
            node.type("utility");
            return Utilities.exactMatch();
        }
        return component(node, "utility", utilities);
    }

    private static <T> T component(SpecNode node, String what, Map<String, Function<SpecNode, T>> registry) {
        String type = node.type(what);
        Function<SpecNode, T> f = registry.get(type);
        if (f == null) {
            throw new StrategySpecException(node.path("type"), "unknown " + what + " '" + type + "' (known: "
                    + String.join(", ", new TreeSet<>(registry.keySet())) + ")");
        }
        T t = f.apply(node);
        node.requireAllUsed();
        return t;
    }

    /**
     * Registers an extra strategy type (e.g. one defined by an application).
     *
     * @param type the value of {@code "type"} that selects it
     * @param builder builds the strategy from its spec object
     */
    public void registerStrategy(String type, Function<SpecNode, Generator> builder) {
        strategies.put(type, builder);
    }

    /**
     * Registers an extra scorer type.
     *
     * @param type the value of {@code "type"} that selects it
     * @param builder builds the scorer from its spec object
     */
    public void registerScorer(String type, Function<SpecNode, Scorer> builder) {
        scorers.put(type, builder);
    }

    /**
     * Registers an extra answer extractor type.
     *
     * @param type the value of {@code "type"} that selects it
     * @param builder builds the extractor from its spec object
     */
    public void registerExtractor(String type, Function<SpecNode, AnswerExtractor> builder) {
        extractors.put(type, builder);
    }

    private void registerStrategies() {
        strategies.put("best_of_n", n -> new BestOfN(inner(n), n.integer("n", 4, 1), scorer(n.requireChild("scorer"))));
        strategies.put("majority_vote", n -> new MajorityVote(inner(n), n.integer("n", 5, 1), extractor(n.child("extractor"))));
        strategies.put("weighted_vote", n -> {
            Generator inner = inner(n);
            int count = n.integer("n", 5, 1);
            AnswerExtractor extractor = extractor(n.child("extractor"));
            Scorer weights = scorer(n.requireChild("scorer"));
            if (!n.has("exp_weights")) {
                return new WeightedMajorityVote(inner, count, extractor, weights); // exp weights for log-prob scorers
            }
            boolean exp = n.bool("exp_weights", false);
            try {
                return new WeightedMajorityVote(inner, count, extractor, weights, exp);
            } catch (dev.metagen.core.MetagenException e) {
                throw new StrategySpecException(n.path("exp_weights"), e.getMessage());
            }
        });
        strategies.put("mbr", n -> new MinimumBayesRisk(inner(n), n.integer("n", 5, 1), utility(n.child("utility"))));
        strategies.put("usc", n -> {
            Generator inner = inner(n);
            Generator selector = generator(n.requireChild("selector"));
            return new UniversalSelfConsistency(inner, n.integer("n", 5, 1), selector,
                    n.string("template", UniversalSelfConsistency.DEFAULT_TEMPLATE),
                    GenerationParams.greedy(n.integer("selector_max_tokens", 8, 1)));
        });
        strategies.put("rejection_sampling", n -> new RejectionSampling(inner(n), verifier(n.requireChild("verifier")),
                n.integer("max_samples", 8, 1), n.integer("batch", 1, 1)));
        strategies.put("adaptive_consistency", n -> new AdaptiveConsistency(inner(n), extractor(n.child("extractor")),
                n.integer("max_samples", 16, 1), n.number("confidence", 0.95, 1e-9, 1 - 1e-9), n.integer("batch", 1, 1)));
        SearchSpecs.register(this);
        CompositionSpecs.register(this);
        AgentSpecs.register(this);
    }

    private void registerScorers() {
        scorers.put("logprob", n -> LogprobScorer.sum());
        scorers.put("mean_logprob", n -> new LogprobScorer(true, n.number("alpha", 1, 0, 10)));
        scorers.put("regex", n -> {
            return new RegexVerifier(CompositionSpecs.regex(n, "pattern", null));
        });
        scorers.put("contains", n -> new ContainsWordsVerifier(n.strings("words")));
        scorers.put("threshold", n -> Verifier.threshold(scorer(n.requireChild("scorer")), n.number("threshold", 0, -1e300, 1e300)));
        scorers.put("judge", n -> new LmJudgeScorer(generator(n.requireChild("judge")),
                n.string("template", LmJudgeScorer.DEFAULT_TEMPLATE),
                GenerationParams.greedy(n.integer("max_tokens", 8, 1)), n.number("fallback", 0, -1e300, 1e300)));
        registerRewardScorers();
    }

    /** The model a scorer reads: resolved now when the front end has models, else a placeholder (spec checks). */
    private java.util.function.Supplier<dev.metagen.core.LanguageModel> scoringModel(SpecNode n, boolean needsHead) {
        java.util.Optional<dev.metagen.core.LanguageModel> m = leaves.scoringModel(n);
        if (m.isEmpty()) {
            return () -> {
                throw new IllegalStateException("validation only");
            };
        }
        dev.metagen.core.LanguageModel model = m.get();
        if (needsHead && model.scoreHead().isEmpty()) {
            throw new StrategySpecException(n.path("model"), "model " + model.info().name()
                    + " has no score head (a reward model carries cls.output tensors)");
        }
        return () -> model;
    }

    /** A template that must hold {@code {candidate}} (and may hold {@code {prompt}}). */
    private static String template(SpecNode n, String fallback, boolean candidate) {
        String t = n.string("template", fallback);
        if (candidate != t.contains("{candidate}")) {
            throw new StrategySpecException(n.path("template"), candidate ? "must contain {candidate}"
                    : "must not contain {candidate} (the steps follow the template)");
        }
        return t;
    }

    /** A head output: its name, or its index. */
    private static String label(SpecNode n) {
        Object v = n.peek(java.util.Set.of("label")).get("label");
        if (v == null) {
            return "0";
        }
        if (v instanceof String) {
            return n.string("label");
        }
        return String.valueOf(n.integer("label", 0, 0));
    }

    private void registerRewardScorers() {
        scorers.put("orm", n -> new OutcomeRewardScorer(scoringModel(n, true),
                template(n, OutcomeRewardScorer.DEFAULT_TEMPLATE, true), label(n), n.bool("parse_special", false)));
        scorers.put("prm", n -> {
            boolean tokens = n.has("good_token") || n.has("bad_token");
            if (tokens && !(n.has("good_token") && n.has("bad_token"))) {
                throw new StrategySpecException(n.path(n.has("good_token") ? "bad_token" : "good_token"),
                        "required with " + (n.has("good_token") ? "good_token" : "bad_token") + " (a Math-Shepherd reading needs both)");
            }
            if (tokens && n.has("label")) {
                throw new StrategySpecException(n.path("label"), "applies to a score head; good_token / bad_token read the next-token distribution instead");
            }
            String agg = n.string("aggregate", "last");
            ProcessRewardScorer.Aggregate a = ProcessRewardScorer.Aggregate.parse(agg);
            if (a == null) {
                throw new StrategySpecException(n.path("aggregate"), "unknown aggregate '" + agg + "' (known: last, mean, min, prod)");
            }
            String delimiter = n.string("step_delimiter", "\n");
            if (delimiter.isEmpty()) {
                throw new StrategySpecException(n.path("step_delimiter"), "must not be empty");
            }
            String good = tokens ? nonEmpty(n, "good_token") : null;
            String bad = tokens ? nonEmpty(n, "bad_token") : null;
            return new ProcessRewardScorer(scoringModel(n, !tokens), template(n, ProcessRewardScorer.DEFAULT_TEMPLATE, false),
                    delimiter, n.string("step_tag", ""), good, bad, tokens ? null : label(n), a, n.bool("parse_special", false),
                    n.integer("max_steps", 32, 1));
        });
        scorers.put("verifier", n -> new GenerativeVerifier(scoringModel(n, false),
                template(n, GenerativeVerifier.DEFAULT_TEMPLATE, true), nonEmpty(n, "yes", " Yes"), nonEmpty(n, "no", " No"),
                n.bool("normalize", true), n.bool("parse_special", false)));
        scorers.put("remote_reward", n -> {
            String e = n.string("endpoint", "score");
            RemoteRewardScorer.Endpoint endpoint = RemoteRewardScorer.Endpoint.parse(e);
            if (endpoint == null) {
                throw new StrategySpecException(n.path("endpoint"), "unknown endpoint '" + e + "' (known: classify, pooling, rerank, score)");
            }
            boolean input = endpoint == RemoteRewardScorer.Endpoint.CLASSIFY || endpoint == RemoteRewardScorer.Endpoint.POOLING;
            if (!input && n.has("template")) {
                throw new StrategySpecException(n.path("template"), "applies to the classify and pooling endpoints (score and rerank send prompt and candidate apart)");
            }
            if (!input && n.has("label")) {
                throw new StrategySpecException(n.path("label"), "applies to the classify and pooling endpoints (score and rerank answer one score)");
            }
            String template = input ? template(n, OutcomeRewardScorer.DEFAULT_TEMPLATE, true) : OutcomeRewardScorer.DEFAULT_TEMPLATE;
            int label = input ? n.integer("label", 0, 0) : 0;
            String served = n.has("served_model") ? n.string("served_model") : null;
            long timeout = n.longValue("timeout_ms", 60_000, 1);
            if (timeout > 600_000) {
                throw new StrategySpecException(n.path("timeout_ms"), "must be <= 600000, got " + timeout);
            }
            if (!n.has("model")) {
                throw new StrategySpecException(n.path("model"), "required: the name of a remote endpoint (--model NAME=URL)");
            }
            String url = leaves.endpointUrl(n);
            return new RemoteRewardScorer(url == null ? "http://validation.invalid" : url, endpoint, served, template, label,
                    Duration.ofMillis(timeout));
        });
    }

    private static String nonEmpty(SpecNode n, String field) {
        return nonEmpty(n, field, null);
    }

    private static String nonEmpty(SpecNode n, String field, String fallback) {
        String v = n.string(field, fallback);
        if (v.isEmpty()) {
            throw new StrategySpecException(n.path(field), "must not be empty");
        }
        return v;
    }

    private void registerExtractors() {
        extractors.put("last_number", n -> AnswerExtractors.lastNumber());
        extractors.put("boxed", n -> AnswerExtractors.boxed());
        extractors.put("text", n -> AnswerExtractors.text());
        extractors.put("regex", n -> {
            String p = CompositionSpecs.regex(n, "pattern", null).pattern();
            int group = n.integer("group", 1, 0);
            try {
                return AnswerExtractors.regex(p, group);
            } catch (MetagenException e) {
                throw new StrategySpecException(n.path("group"), e.getMessage());
            }
        });
        extractors.put("json_field", n -> {
            String pointer = n.string("pointer");
            if (!pointer.isEmpty() && !pointer.startsWith("/")) {
                throw new StrategySpecException(n.path("pointer"), "a JSON pointer starts with '/', got '" + pointer + "'");
            }
            return AnswerExtractors.jsonField(pointer);
        });
    }
}
