package dev.metagen.runtime;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.ContrastiveSearch;
import dev.metagen.decoding.beam.BeamGenerator;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.beam.StochasticBeamSearch;
import dev.metagen.decoding.speculative.DraftModelSource;
import dev.metagen.decoding.speculative.DraftSource;
import dev.metagen.decoding.speculative.PromptLookupSource;
import dev.metagen.decoding.speculative.SpeculativeGenerator;
import dev.metagen.control.TokenConstraint;
import dev.metagen.control.TokenHealing;
import dev.metagen.control.sequence.FudgeSampler;
import dev.metagen.control.sequence.SmcGenerator;
import dev.metagen.core.Scorer;
import dev.metagen.meta.ScopedScorer;
import dev.metagen.meta.score.Verifier;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecException;
import dev.metagen.meta.spec.StrategySpecs;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The leaf generators of strategy specs over the run's {@link ModelRegistry}: every token-level generator of the
 * project is a spec type. {@code sample} and {@code greedy} are {@link ModelLeaf}s (the whole parameter model:
 * sampler chain, logit bias, constraint, guidance, logprobs); {@code constrained} is a sample leaf that must name a
 * constraint; {@code beam}, {@code stochastic_beam} and {@code contrastive} are the decoding module's searches;
 * {@code speculative} is speculative decoding with a draft model or prompt lookup. A leaf inherits the caller's
 * {@link GenerationParams}; the generation fields of the spec ({@link GenerationFields}) override them, and
 * {@code "model": "NAME"} picks a model of the registry. A leaf refuses a parameter it cannot honour, at the call.
 * A remote endpoint of the registry serves {@code sample}, {@code greedy} and {@code constrained} leaves (every
 * parameter is sent as a request field or refused); a leaf that needs a model's logits refuses it when the spec is
 * built, as do guidance adapters and drafts that name it.
 */
public final class LeafGenerators implements LeafFactory {
    public static final Set<String> TYPES = Set.of("sample", "greedy", "constrained", "beam", "stochastic_beam",
            "contrastive", "speculative", "fudge", "smc", "token_healing");
    /** The leaf types that a remote endpoint can serve: it returns text, never logits. */
    public static final Set<String> REMOTE_TYPES = Set.of("sample", "greedy", "constrained");
    /** The parameters a leaf's own fields are checked against when a remote leaf is built (penalties over the whole text). */
    private static final GenerationParams REMOTE_CHECK_BASE = GenerationParams.greedy(1)
            .withSampling(new SamplingConfig().temperature(0).penalties(1, 0, 0, -1));

    private final ModelRegistry models;
    private final boolean parseSpecial;

    public LeafGenerators(LanguageModel model) {
        this(model, false);
    }

    /**
     * @param parseSpecial whether the sampling leaves read special-token text in the prompt as those tokens: a prompt
     *                     rendered by a chat template carries {@code <|im_start|>} and the like
     */
    public LeafGenerators(LanguageModel model, boolean parseSpecial) {
        this(ModelRegistry.of(model), parseSpecial);
    }

    public LeafGenerators(ModelRegistry models, boolean parseSpecial) {
        this.models = models;
        this.parseSpecial = parseSpecial;
    }

    /** A parser whose leaves are not built yet: used to check a spec before the model is loaded. */
    public static StrategySpecs validator() {
        return validator(Sandbox.Limits.DEFAULT);
    }

    /** {@link #validator()} for specs whose code tools run within the operator's {@code sandboxLimits}. */
    public static StrategySpecs validator(Sandbox.Limits sandboxLimits) {
        return validator(sandboxLimits, Set.of());
    }

    /**
     * {@link #validator(Sandbox.Limits)} for a run whose registry names the remote endpoints {@code remoteNames}
     * ({@link ModelRegistry#remoteNames}): a leaf that needs a local model and names one is refused now.
     */
    public static StrategySpecs validator(Sandbox.Limits sandboxLimits, Set<String> remoteNames) {
        return validator(sandboxLimits, null, remoteNames);
    }

    /**
     * {@link #validator(Sandbox.Limits, Set)} that also refuses a leaf whose {@code "model"} is neither one of
     * {@code modelNames} (every name of the run, remote ones included; null: not checked) nor a model path.
     */
    public static StrategySpecs validator(Sandbox.Limits sandboxLimits, Set<String> modelNames, Set<String> remoteNames) {
        return validator(sandboxLimits, modelNames, remoteNames, dev.metagen.meta.tools.HttpTool.Policy.NONE);
    }

    /** {@link #validator(Sandbox.Limits, Set, Set)} with the operator's allow-list of http tools. */
    public static StrategySpecs validator(Sandbox.Limits sandboxLimits, Set<String> modelNames, Set<String> remoteNames,
                                          dev.metagen.meta.tools.HttpTool.Policy httpTools) {
        return new StrategySpecs(new LeafFactory() {
            @Override
            public Set<String> types() {
                return TYPES;
            }

            @Override
            public Generator create(String type, SpecNode node) {
                checkRemoteUse(type, node, remoteNames::contains);
                if (type.equals("constrained")) {
                    requireConstraint(node);
                }
                if (modelNames != null && node.has("model")) {
                    String name = node.string("model");
                    if (!modelNames.contains(name) && !ModelRegistry.isReference(name)) {
                        throw new StrategySpecException(node.path("model"), "unknown model '" + name + "' (named here: "
                                + String.join(", ", new java.util.TreeSet<>(modelNames)) + ")");
                    }
                }
                if (Set.of("sample", "greedy", "constrained").contains(type)) {
                    if (node.has("model")) {
                        node.string("model"); // its only own field: anything else is a typo, found now
                    }
                } else {
                    node.remainingFields(); // checked again when the leaf is built over the model
                }
                return (p, params) -> {
                    throw new IllegalStateException("validation only");
                };
            }

            @Override
            public java.util.Optional<LanguageModel> scoringModel(SpecNode node) {
                if (node.has("model")) {
                    String name = node.string("model");
                    if (remoteNames.contains(name)) {
                        throw remoteScorer(node, name);
                    }
                    if (modelNames != null && !modelNames.contains(name) && !ModelRegistry.isReference(name)) {
                        throw new StrategySpecException(node.path("model"), "unknown model '" + name + "' (named here: "
                                + String.join(", ", new java.util.TreeSet<>(modelNames)) + ")");
                    }
                }
                return java.util.Optional.empty();
            }

            @Override
            public String endpointUrl(SpecNode node) {
                String name = node.string("model");
                // the remote names are known when some are given or every name is; otherwise the build checks
                if ((modelNames != null || !remoteNames.isEmpty()) && !remoteNames.contains(name)) {
                    throw notRemote(node, name);
                }
                return null;
            }
        }, sandboxLimits, httpTools);
    }

    private static StrategySpecException remoteScorer(SpecNode node, String name) {
        return new StrategySpecException(node.path("model"), "'" + name + "' is a remote endpoint: this scorer reads a"
                + " local model's logits or score head (remote_reward scores over HTTP)");
    }

    private static StrategySpecException notRemote(SpecNode node, String name) {
        return new StrategySpecException(node.path("model"), "'" + name + "' is not a remote endpoint (remote_reward"
                + " names one given as --model NAME=URL)");
    }

    @Override
    public java.util.Optional<LanguageModel> scoringModel(SpecNode node) {
        String name = node.has("model") ? node.string("model") : null;
        if (name != null && models.isRemote(name)) {
            throw remoteScorer(node, name);
        }
        try {
            return java.util.Optional.of(name == null ? models.defaultModel() : models.get(name));
        } catch (MetagenException e) {
            throw new StrategySpecException(node.path("model"), e.getMessage());
        }
    }

    @Override
    public String endpointUrl(SpecNode node) {
        String name = node.string("model");
        if (!models.isRemote(name)) {
            throw notRemote(node, name);
        }
        return models.endpointUrl(name);
    }

    @Override
    public Set<String> types() {
        return TYPES;
    }

    @Override
    public Generator create(String type, SpecNode node) {
        return create(type, node, null);
    }

    @Override
    public Generator create(String type, SpecNode node, StrategySpecs specs) {
        checkRemoteUse(type, node, models::isRemote);
        if (node.has("model") && models.isRemote(node.string("model"))) {
            return remote(type, node, node.string("model"));
        }
        LanguageModel model = node.has("model") ? model(node) : models.defaultModel();
        try {
            return switch (type) {
                case "sample" -> precompiled(new ModelLeaf(model, models, parseSpecial), node);
                case "greedy" -> {
                    ModelLeaf leaf = precompiled(new ModelLeaf(model, models, parseSpecial), node);
                    yield new Leaf(params -> params.withSampling(params.sampling().temperature(0)), params -> leaf);
                }
                case "constrained" -> {
                    requireConstraint(node);
                    yield precompiled(new ModelLeaf(model, models, parseSpecial), node);
                }
                case "beam" -> {
                    BeamSearch.Settings s = new BeamSearch.Settings(node.integer("beams", 4, 1),
                            node.number("length_penalty", 1.0, -100, 100), node.bool("early_stopping", false),
                            node.integer("num_return_sequences", 1, 1), node.integer("diverse_groups", 1, 1),
                            node.number("diversity_penalty", 0, 0, 1e6));
                    yield new Leaf(params -> {
                        requireSearchable(params, "beam search", true);
                        return params;
                    }, params -> BeamGenerator.of(model, new BeamSearch(model, s, params.sampling())));
                }
                case "stochastic_beam" -> {
                    int beams = node.integer("beams", 4, 1);
                    yield new Leaf(params -> searchable(params, "stochastic beam search"),
                            params -> BeamGenerator.of(model, new StochasticBeamSearch(model, beams,
                                    params.temperature() > 0 ? params.temperature() : 1.0, params.seed(), params.sampling().stopTokens())));
                }
                case "contrastive" -> {
                    ContrastiveSearch search = new ContrastiveSearch(model, node.integer("k", 4, 1), node.number("alpha", 0.6, 0, 1));
                    yield new Leaf(params -> {
                        if (!params.sampling().stopTokens().isEmpty()) {
                            throw new MetagenException("contrastive search cannot apply stop_tokens");
                        }
                        return searchable(params, "contrastive search");
                    }, params -> search);
                }
                case "speculative" -> speculative(model, node);
                case "fudge" -> fudge(model, node, specs);
                case "smc" -> smc(model, node, specs);
                case "token_healing" -> {
                    int backOff = node.integer("back_off", 1, 1);
                    yield new Leaf(params -> {
                        if (params.constraint() != null) {
                            throw new MetagenException("token healing constrains the output to start with the healed bytes: it cannot apply another output constraint");
                        }
                        if (!params.guidance().isNone()) {
                            throw new MetagenException("token healing cannot apply guidance");
                        }
                        return params;
                    }, params -> (p, q) -> TokenHealing.generate(model, p, q, backOff));
                }
                default -> throw new IllegalArgumentException("not a leaf: " + type);
            };
        } catch (StrategySpecException e) {
            throw e;
        } catch (MetagenException | IllegalArgumentException | StackOverflowError e) {
            // a regex, grammar or schema that does not compile (or nests beyond reason) is the spec's error
            throw new StrategySpecException(node.path(), MetagenException.describe(e));
        }
    }

    /**
     * A leaf over the remote endpoint {@code name}: the endpoint itself for {@code sample} and {@code constrained},
     * at temperature 0 for {@code greedy}. The leaf's own fields are checked now against what the endpoint can send;
     * the caller's parameters, at each call.
     */
    private Generator remote(String type, SpecNode node, String name) {
        if (type.equals("constrained")) {
            requireConstraint(node);
        }
        Generator endpoint;
        try {
            endpoint = models.endpoint(name);
            endpoint.maxModelCalls(Prompt.of(""), GenerationFields.apply(REMOTE_CHECK_BASE, node.peek(GenerationFields.ALL), node.path()));
        } catch (StrategySpecException e) {
            throw e;
        } catch (MetagenException e) {
            throw new StrategySpecException(node.path(), "model '" + name + "': " + e.getMessage());
        }
        if (!type.equals("greedy")) {
            return endpoint;
        }
        return new Leaf(params -> params.withSampling(params.sampling().temperature(0)), params -> endpoint);
    }

    /**
     * Refuses, when the spec is built, a remote endpoint where a model's logits are needed: as the model of a leaf
     * other than {@code sample}, {@code greedy} and {@code constrained}, or as an amateur, expert or draft model.
     */
    private static void checkRemoteUse(String type, SpecNode node, java.util.function.Predicate<String> isRemote) {
        Map<String, Object> f = node.peek(Set.of("model", "amateur", "experts", "draft"));
        if (f.get("model") instanceof String name && isRemote.test(name) && !REMOTE_TYPES.contains(type)) {
            throw new StrategySpecException(node.path("model"), "'" + name + "' is a remote endpoint: a " + type
                    + " leaf needs a local model's logits (a remote endpoint serves sample, greedy and constrained leaves)");
        }
        for (String field : List.of("amateur", "draft")) {
            if (f.get(field) instanceof String name && isRemote.test(name)) {
                throw new StrategySpecException(node.path(field), "'" + name + "' is a remote endpoint: " + field
                        + " needs a local model's logits");
            }
        }
        if (f.get("experts") instanceof List<?> experts) {
            for (Object e : experts) {
                if (e instanceof String name && isRemote.test(name)) {
                    throw new StrategySpecException(node.path("experts"), "'" + name + "' is a remote endpoint: experts need a local model's logits");
                }
            }
        }
    }

    private Generator speculative(LanguageModel model, SpecNode node) {
        int k = node.integer("draft_k", 4, 1);
        boolean lookup = node.bool("lookup", false);
        String draftRef = node.has("draft") ? node.string("draft") : null;
        if (lookup == (draftRef != null)) {
            throw new StrategySpecException(node.path(), "a speculative leaf needs one of \"draft\" (a model) or \"lookup\": true");
        }
        Supplier<DraftSource> drafts;
        if (lookup) {
            int ngram = new PromptLookupSource(node.integer("lookup_ngram", 3, 1)).maxNgram();
            drafts = () -> new PromptLookupSource(ngram);
        } else {
            LanguageModel draft = models.get(draftRef);
            new DraftModelSource(draft, 0).checkVocabulary(model);
            drafts = () -> new DraftModelSource(draft, 0x9E3779B97F4A7C15L);
        }
        SpeculativeGenerator g = new SpeculativeGenerator(model, drafts, k);
        return new Leaf(params -> {
            SpeculativeGenerator.checkSupported(params);
            return params;
        }, params -> g);
    }

    /**
     * FUDGE (Yang and Klein, 2021): a sample leaf whose chain reweights the {@code candidates} most likely tokens by
     * {@code lambda} times a discriminator's log-score of the continued text; the discriminator is a scorer spec that
     * calls no model (its score is read as a log-probability; a verifier's 1/0 as log 1 / log 0).
     */
    private Generator fudge(LanguageModel model, SpecNode node, StrategySpecs specs) {
        Scorer scorer = partialScorer(node, "scorer", specs);
        int candidates = node.integer("candidates", 10, 1);
        double lambda = node.number("lambda", 1.0, -1e6, 1e6);
        return new ModelLeaf(model, models, parseSpecial, (params, ids) -> List.of(new FudgeSampler(model.tokenizer(),
                text -> logScore(scorer, model.tokenizer().decode(ids), text), candidates, lambda)));
    }

    /**
     * Sequential Monte Carlo (Lew et al. 2023): {@code particles} samples extend in lock step and are resampled every
     * {@code tokens_per_step} tokens by a {@code potential} (a scorer spec that calls no model, optional) and the
     * call's output constraint; it proposes from the model's distribution at the call's temperature.
     */
    private Generator smc(LanguageModel model, SpecNode node, StrategySpecs specs) {
        int particles = node.integer("particles", 8, 1);
        int perStep = node.integer("tokens_per_step", 4, 1);
        Scorer potential = node.has("potential") ? partialScorer(node, "potential", specs) : null;
        ModelLeaf constraints = new ModelLeaf(model, models, parseSpecial);
        return new Leaf(params -> {
            if (params.temperature() == 0) {
                throw new MetagenException("sequential Monte Carlo samples: it needs a temperature > 0");
            }
            if (!params.stop().isEmpty()) {
                throw new MetagenException("sequential Monte Carlo cannot apply stop strings");
            }
            return searchable(params.withConstraint(null), "sequential Monte Carlo").withConstraint(params.constraint());
        }, params -> {
            TokenConstraint c = params.constraint() == null ? null : constraints.constraint(params.constraint());
            return new SmcGenerator(model, (text, finished) -> potential == null ? 0
                    : logScore(potential, "", text), particles, perStep, c);
        });
    }

    private static Scorer partialScorer(SpecNode node, String field, StrategySpecs specs) {
        if (specs == null) {
            throw new StrategySpecException(node.path(field), "needs a strategy spec parser for its scorer");
        }
        Scorer s = specs.scorer(node.requireChild(field));
        if (s instanceof ScopedScorer) {
            throw new StrategySpecException(node.path(field), "a scorer that calls a model cannot guide token by token"
                    + " (its calls could not be charged): use regex, contains or threshold");
        }
        return s;
    }

    private static double logScore(Scorer scorer, String prompt, String text) {
        double s = scorer.score(Prompt.of(prompt), new Generation(text, new int[0], new double[0],
                dev.metagen.core.FinishReason.LENGTH, dev.metagen.core.Cost.ZERO, java.util.Map.of()));
        return scorer instanceof Verifier ? Math.log(s) : s;
    }

    /** Compiles the leaf's own constraint now, so that one that does not compile is an error of the spec. */
    private static ModelLeaf precompiled(ModelLeaf leaf, SpecNode node) {
        dev.metagen.core.OutputConstraint c = GenerationFields.constraint(node.peek(GenerationFields.CONSTRAINT), node.path());
        if (c != null) {
            leaf.constraint(c);
        }
        return leaf;
    }

    private static GenerationParams searchable(GenerationParams params, String what) {
        requireSearchable(params, what);
        return params;
    }

    /**
     * A leaf whose parameters are checked or adjusted before each call ({@code prepare} throws for a setting the
     * generator cannot honour) and whose generator may depend on them; its worst-case bounds are the generator's
     * under the prepared parameters, so budgets reserve what the call can really spend.
     */
    private record Leaf(UnaryOperator<GenerationParams> prepare, Function<GenerationParams, Generator> build) implements Generator {
        @Override
        public Generation generate(Prompt prompt, GenerationParams params) {
            GenerationParams p = prepare.apply(params);
            return build.apply(p).generate(prompt, p);
        }

        @Override
        public long maxModelCalls(Prompt prompt, GenerationParams params) {
            GenerationParams p = prepare.apply(params);
            return build.apply(p).maxModelCalls(prompt, p);
        }

        @Override
        public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
            GenerationParams p = prepare.apply(params);
            return build.apply(p).maxGeneratedTokens(prompt, p);
        }
    }

    private LanguageModel model(SpecNode node) {
        try {
            return models.get(node.string("model"));
        } catch (MetagenException e) {
            throw new StrategySpecException(node.path("model"), e.getMessage());
        }
    }

    private static void requireConstraint(SpecNode node) {
        for (String f : GenerationFields.CONSTRAINT) {
            if (!f.equals("best_effort") && node.has(f)) {
                return;
            }
        }
        throw new StrategySpecException(node.path(), "a constrained leaf needs one of regex, choice, grammar, json_schema, json_object, contains");
    }

    /**
     * Beam and contrastive search rank continuations by log-probability: temperature and the truncation samplers
     * (top-k, top-p, min-p, typical-p, epsilon, eta, top-n-sigma) are sampling settings they do not use; every other
     * setting that changes the distribution is refused rather than dropped.
     *
     * @param params the call's parameters
     * @param what the search, for the message
     */
    public static void requireSearchable(GenerationParams params, String what) {
        requireSearchable(params, what, false);
    }

    /**
     * As {@link #requireSearchable(GenerationParams, String)}; with {@code logitProcessors} the search applies the
     * logit bias, minimum length, no-repeat n-grams and penalties itself (beam search, as Hugging Face's does), so
     * only the settings that draw or adapt per sample are refused.
     *
     * @param params the call's parameters
     * @param what the search, for the message
     * @param logitProcessors whether the search applies the history-only logit processors
     */
    public static void requireSearchable(GenerationParams params, String what, boolean logitProcessors) {
        SamplingConfig s = params.sampling();
        List<String> refused = new java.util.ArrayList<>();
        if (!logitProcessors) {
            if (!s.logitBias().isEmpty()) refused.add("logit_bias");
            if (s.repeatPenalty() != 1 || s.frequencyPenalty() != 0 || s.presencePenalty() != 0) refused.add("penalties");
            if (s.noRepeatNgram() > 0) refused.add("no_repeat_ngram");
            if (s.minTokens() > 0) refused.add("min_tokens");
        }
        if (s.dryMultiplier() > 0) refused.add("dry_multiplier");
        if (s.xtcProbability() > 0) refused.add("xtc_probability");
        if (s.mirostat() > 0) refused.add("mirostat");
        if (params.constraint() != null) refused.add("an output constraint");
        if (!params.guidance().isNone()) refused.add("guidance");
        if (params.logprobs() > 0) refused.add("logprobs (top alternatives)");
        if (!refused.isEmpty()) {
            throw new MetagenException(what + " cannot apply " + String.join(", ", refused.stream().sorted().toList())
                    + " (use a sample or greedy leaf, or set the leaf's fields to their neutral values, e.g. \"repeat_penalty\": 1;"
                    + " the model's generation defaults can set " + (logitProcessors ? "" : "penalties, ") + "xtc and mirostat)");
        }
    }
}
