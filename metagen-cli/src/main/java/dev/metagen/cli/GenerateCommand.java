package dev.metagen.cli;

import dev.metagen.client.RemoteGenerator;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Guidance;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.ContrastiveSearch;
import dev.metagen.decoding.speculative.SpeculativeGenerator;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelLeaf;
import dev.metagen.runtime.ModelRegistry;
import dev.metagen.decoding.beam.BeamGenerator;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.beam.StochasticBeamSearch;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.core.LanguageModel;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.meta.tools.Sandbox;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code metagen generate}: continue a prompt with greedy decoding or sampling through the adapter chain
 * (llama.cpp / vLLM flag names), beam search, diverse or stochastic beam search, or contrastive search.
 */
@Command(name = "generate", description = "Generate a continuation of a prompt (streams text; --json prints one object).")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    BackendOption backend;

    @Option(names = {"-p", "--prompt"}, required = true, description = "The prompt text.")
    String prompt;

    @Mixin
    SamplingOptions samplingOptions;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", description = "Maximum tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--stop", description = "Stop when this string is generated (repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--beams", defaultValue = "1", description = "Beam search with this many beams (at most 64); 1 = off.")
    int beams;

    @Option(names = "--length-penalty", defaultValue = "1.0", description = "Beam hypotheses rank by logprob / length^this (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    @Option(names = "--early-stopping", description = "Beam search stops once each group has enough finished hypotheses.")
    boolean earlyStopping;

    @Option(names = {"--num-return-sequences", "--n-return"}, defaultValue = "1", description = "Beam search: sequences to return (default: ${DEFAULT-VALUE}).")
    int numReturn;

    @Option(names = "--diverse-groups", defaultValue = "1", description = "Diverse beam search: groups (must divide --beams).")
    int diverseGroups;

    @Option(names = "--diversity-penalty", defaultValue = "0", description = "Diverse beam search: Hamming penalty per earlier-group use.")
    double diversityPenalty;

    @Option(names = "--stochastic-beams", defaultValue = "0", description = "Stochastic beam search (Gumbel-top-k) with this many beams; 0 = off.")
    int stochasticBeams;

    @Option(names = "--contrastive-alpha", defaultValue = "0", description = "Contrastive search degeneration penalty in [0, 1]; 0 = off.")
    double contrastiveAlpha;

    @Option(names = "--contrastive-k", defaultValue = "4", description = "Contrastive search candidates (default: ${DEFAULT-VALUE}).")
    int contrastiveK;

    @Option(names = "--cfg-scale", defaultValue = "1.0", description = "Classifier-free guidance scale; 1 = off.")
    double cfgScale;

    @Option(names = "--cfg-negative-prompt", defaultValue = "", description = "The unconditional prompt for guidance (default: BOS only).")
    String cfgNegativePrompt;

    @Option(names = "--amateur", paramLabel = "GGUF", description = "Contrastive decoding: the amateur model (same vocabulary).")
    Path amateur;

    @Option(names = "--cd-alpha", defaultValue = "0.1", description = "Contrastive decoding plausibility threshold (default: ${DEFAULT-VALUE}).")
    double cdAlpha;

    @Option(names = "--expert", paramLabel = "GGUF", description = "Product of experts: another model with the same vocabulary (repeatable).")
    List<Path> experts = new ArrayList<>();

    @Option(names = "--expert-weight", description = "Weight of each --expert's log-probabilities, in order; negative = anti-expert (default 1).")
    List<Double> expertWeights = new ArrayList<>();

    @Option(names = "--logprobs", defaultValue = "0", description = "With --json: the top K alternatives of each step (top_logprobs).")
    int logprobs;

    @Mixin
    ThreadsOption threadsOption;

    int threads; // --threads, checked

    // efficient generation (issue #6): parallel samples, KV budget, prefix cache
    @Option(names = "--parallel", defaultValue = "1", description = "Sample N continuations of the prompt at once: the prompt is computed once and every step is one batched forward (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--kv-budget-mib", defaultValue = "0", description = "Bound on the paged KV cache in MiB; 0 = default (8 full-context sequences, at most half the heap).")
    long kvBudgetMib;

    @Option(names = "--no-prefix-cache", description = "Do not reuse cached KV blocks of earlier prompts.")
    boolean noPrefixCache;

    @Mixin
    ContextOption contextOption;

    int contextLength; // --ctx, checked

    @Option(names = "--no-bos", description = "Do not add BOS even if the model's metadata asks for it.")
    boolean noBos;

    @Option(names = "--echo", description = "Print the prompt before the continuation.")
    boolean echo;

    @Option(names = "--json", description = "Print one JSON object with text, tokens, finish_reason, usage and timings.")
    boolean json;

    // --- controlled generation (metagen-control): --json-schema, --regex, --grammar, --choice ---
    @Mixin
    ConstraintOptions constraint;

    // meta-generation (issue #5): the strategy branch lives in StrategyGenerate
    @Option(names = "--strategy", paramLabel = "FILE_OR_JSON", description = "Run a meta-generation strategy spec (JSON text or a file); --json adds cost and trace.")
    String strategy;

    @Option(names = "--trace-html", paramLabel = "FILE", description = "Also write the generation's trace as a self-contained HTML page (search tree, candidates, token probabilities, cost and budget).")
    Path traceHtml;

    // the operator's limits on the code tools of a --strategy
    @Mixin
    SandboxOptions sandboxOptions;

    // the operator's allow-list for the http tools of a --strategy
    @Mixin
    HttpToolOptions httpToolOptions;

    // speculative decoding (issue #6): --draft / --lookup live in SpeculativeOptions
    @Mixin
    SpeculativeOptions speculative;

    @Override
    public Integer call() {
        if (maxTokens < 0) {
            throw new ParameterException(spec.commandLine(), "--max-tokens must be >= 0, got " + maxTokens);
        }
        threads = threadsOption.threads(spec);
        contextLength = contextOption.contextLength(spec);
        int searches = (beams > 1 || numReturn > 1 || diverseGroups > 1 ? 1 : 0) + (stochasticBeams > 0 ? 1 : 0) + (contrastiveAlpha > 0 ? 1 : 0);
        if (searches > 1) {
            throw new ParameterException(spec.commandLine(), "choose one of --beams, --stochastic-beams and --contrastive-alpha");
        }
        if (parallel < 1 || parallel > 4096 || kvBudgetMib < 0 || kvBudgetMib > (1L << 30)) {
            throw new ParameterException(spec.commandLine(), "--parallel must be in [1, 4096] and --kv-budget-mib >= 0");
        }
        checkGeneratorFlags();
        backend.refuseEngineOnly(spec, model, "--kv-budget-mib", "--no-prefix-cache");
        if (parallel > 1 && (searches > 0 || speculative.enabled())) {
            throw new ParameterException(spec.commandLine(), "--parallel works with sampling or greedy (with their adapters and constraints), not with a search or speculative decoding");
        }
        if (logprobs < 0 || logprobs > GenerationParams.MAX_LOGPROBS) {
            throw new ParameterException(spec.commandLine(), "--logprobs must be in [0, " + GenerationParams.MAX_LOGPROBS + "], got " + logprobs);
        }
        if (logprobs > 0 && !json && traceHtml == null) {
            throw new ParameterException(spec.commandLine(), "--logprobs shows the top alternatives in the JSON output or the trace page: add --json or --trace-html FILE");
        }
        TraceHtml.check(spec, traceHtml);
        long s = samplingOptions.seed != null ? samplingOptions.seed : new java.security.SecureRandom().nextLong();
        GenerationParams params;
        BeamSearch.Settings beamSettings = null;
        try {
            if (beams > 1 || numReturn > 1 || diverseGroups > 1) {
                beamSettings = new BeamSearch.Settings(beams, lengthPenalty, earlyStopping, numReturn, diverseGroups, diversityPenalty);
            }
            if (stochasticBeams < 0 || stochasticBeams > BeamSearch.MAX_BEAMS) {
                throw new MetagenException("--stochastic-beams must be in [0, " + BeamSearch.MAX_BEAMS + "], got " + stochasticBeams);
            }
            if (contrastiveAlpha < 0 || contrastiveAlpha > 1 || contrastiveK < 1) {
                throw new MetagenException("--contrastive-alpha must be in [0, 1] and --contrastive-k >= 1, got "
                        + contrastiveAlpha + " and " + contrastiveK);
            }
            if (!expertWeights.isEmpty() && expertWeights.size() != experts.size()) {
                throw new MetagenException("--expert-weight given " + expertWeights.size() + " times for " + experts.size() + " --expert models");
            }
            if (!(cdAlpha > 0 && cdAlpha <= 1)) {
                throw new MetagenException("--cd-alpha must be in (0, 1], got " + cdAlpha);
            }
            if (!Double.isFinite(cfgScale)) {
                throw new MetagenException("--cfg-scale must be a finite number, got " + cfgScale);
            }
            Guidance guidance = Guidance.NONE.withCfg(cfgScale, cfgNegativePrompt)
                    .withExperts(experts.stream().map(Path::toString).toList(), expertWeights);
            if (amateur != null) {
                guidance = guidance.withAmateur(amateur.toString(), cdAlpha);
            }
            // the one parameter model: every flag lands here, and every generator below reads it or refuses it
            params = new GenerationParams(maxTokens, s, !noBos, stop, samplingOptions.config(s), logprobs,
                    constraint.outputConstraint(), guidance);
            // a generator that cannot honour a setting refuses it now, before the model is loaded
            if (speculative.enabled()) {
                SpeculativeGenerator.checkSupported(params);
            } else if (beamSettings != null) {
                LeafGenerators.requireSearchable(params, "beam search", true);
            } else if (stochasticBeams > 0) {
                LeafGenerators.requireSearchable(params, "stochastic beam search");
            } else if (contrastiveAlpha > 0) {
                LeafGenerators.requireSearchable(params, "contrastive search");
            }
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Sandbox.Limits sandboxLimits = sandboxOptions.limits(spec, strategy != null, "with --strategy");
        httpToolOptions.policy(spec, strategy != null, "with --strategy");
        if (strategy != null) {
            return StrategyGenerate.run(spec, model, strategy, prompt, params, samplingOptions, backend.loader(spec, modelOptions()), json, echo, sandboxLimits,
                    httpToolOptions.policy(spec, true, "with --strategy"), traceHtml);
        }
        PrintWriter out = spec.commandLine().getOut();
        ModelLoader loader = backend.loader(spec, modelOptions());
        try (LanguageModel m = loader.load(model.model());
             ModelRegistry registry = ModelRegistry.of(m, model.others(), loader::load, RemoteGenerator::forReference)) {
            ModelLeaf leaf = new ModelLeaf(m, registry, false);
            // the model's generation defaults fill the sampler flags not given (beam search applies their penalties
            // as it applies the flags'); stochastic beam, contrastive and speculative decoding take their settings
            // from their own flags only
            Map<String, Object> defaultsApplied = Map.of();
            boolean sampling = !speculative.enabled() && stochasticBeams == 0 && contrastiveAlpha == 0;
            if (sampling) {
                params = samplingOptions.withModelDefaults(params, m);
                if (beamSettings != null) {
                    try {
                        LeafGenerators.requireSearchable(params, "beam search", true);
                    } catch (MetagenException e) {
                        throw new ParameterException(spec.commandLine(), e.getMessage());
                    }
                }
                defaultsApplied = samplingOptions.modelDefaultsApplied(m);
                if (!json) {
                    samplingOptions.printModelDefaults(m, spec.commandLine().getErr());
                }
            }
            if (params.constraint() != null) {
                leaf.constraint(params.constraint()); // compiled before generation: errors come first
            }
            int[] promptIds = m.tokenizer().encode(prompt, params.addSpecial());
            if (!json && echo) {
                out.print(prompt);
                out.flush();
            }
            List<Generation> all;
            boolean streamed = false;
            if (speculative.enabled()) {
                all = List.of(speculative.generate(m, promptIds, params, params.sampling(), loader::load));
            } else if (beamSettings != null) {
                all = BeamGenerator.of(m, new BeamSearch(m, beamSettings, params.sampling())).generateAll(promptIds, params);
            } else if (stochasticBeams > 0) {
                double t = params.temperature() > 0 ? params.temperature() : 1.0;
                all = BeamGenerator.of(m, new StochasticBeamSearch(m, stochasticBeams, t, s, params.sampling().stopTokens())).generateAll(promptIds, params);
            } else if (contrastiveAlpha > 0) {
                all = List.of(new ContrastiveSearch(m, contrastiveK, contrastiveAlpha).generate(promptIds, params));
            } else if (parallel > 1) {
                all = leaf.generateN(promptIds, params, parallel);
            } else {
                streamed = !json;
                all = List.of(leaf.generate(promptIds, params, json ? t -> {} : t -> {
                    out.print(t);
                    out.flush();
                }));
            }
            Generation g = all.getFirst();
            if (traceHtml != null) {
                TraceHtml.write(traceHtml, m, prompt, g, null, null, null);
            }
            if (json) {
                Map<String, Object> o = toJson(g, m.info().name(), s);
                o.put("backend", ModelLoader.Backend.of(m).flag());
                if (!defaultsApplied.isEmpty()) {
                    o.put("generation_defaults", defaultsApplied);
                }
                if (parallel > 1) {
                    o.put("sequences", parallelSequences(all));
                    o.put("usage", parallelUsage(all));
                }
                out.println(Json.write(o));
            } else {
                if (all.size() > 1) {
                    for (int i = 0; i < all.size(); i++) {
                        out.printf("%s--- sequence %d, logprob %.4f ---%n%s", i == 0 ? "" : System.lineSeparator(), i + 1,
                                all.get(i).sumLogprob(), all.get(i).text());
                    }
                } else if (!streamed) {
                    out.print(g.text());
                }
                out.println();
                long completion = all.stream().mapToLong(x -> x.cost().generatedTokens()).sum();
                spec.commandLine().getErr().printf("[%d prompt tokens, %.1f tokens/s prefill; %d generated, %.1f tokens/s decode; finish: %s]%n",
                        g.cost().promptTokens(), (double) g.trace().get("prefill_tokens_per_s"),
                        parallel > 1 ? completion : g.cost().generatedTokens(), (double) g.trace().get("decode_tokens_per_s"), g.finish().apiName());
            }
        }
        return 0;
    }

    /** A flag that picks or sets a generator: the generator, in words, and how a strategy spec picks it instead. */
    record GeneratorFlag(String generator, String inSpec) {
    }

    /**
     * The flags that pick the generator, or set one. Beside {@code --strategy} every one of them is refused (the
     * spec's leaves pick the generator); without it, a setting of a generator that is not chosen is refused too,
     * rather than dropped.
     */
    static final Map<String, GeneratorFlag> GENERATOR_FLAGS = new LinkedHashMap<>();

    static {
        GeneratorFlag beam = new GeneratorFlag("beam search (--beams)", "a {\"type\": \"beam\", ...} leaf");
        for (String f : List.of("--beams", "--length-penalty", "--early-stopping", "--num-return-sequences",
                "--diverse-groups", "--diversity-penalty")) {
            GENERATOR_FLAGS.put(f, beam);
        }
        GENERATOR_FLAGS.put("--stochastic-beams", new GeneratorFlag("stochastic beam search (--stochastic-beams)",
                "a {\"type\": \"stochastic_beam\", ...} leaf"));
        GeneratorFlag contrastive = new GeneratorFlag("contrastive search (--contrastive-alpha)", "a {\"type\": \"contrastive\", ...} leaf");
        GENERATOR_FLAGS.put("--contrastive-alpha", contrastive);
        GENERATOR_FLAGS.put("--contrastive-k", contrastive);
        GeneratorFlag speculativeLeaf = new GeneratorFlag("speculative decoding (--draft or --lookup)",
                "a {\"type\": \"speculative\", ...} leaf");
        GENERATOR_FLAGS.put("--draft", speculativeLeaf);
        GENERATOR_FLAGS.put("--draft-k", speculativeLeaf);
        GeneratorFlag lookup = new GeneratorFlag("prompt lookup decoding (--lookup)", "a {\"type\": \"speculative\", \"lookup\": true, ...} leaf");
        GENERATOR_FLAGS.put("--lookup", lookup);
        GENERATOR_FLAGS.put("--lookup-ngram", lookup);
        GENERATOR_FLAGS.put("--parallel", new GeneratorFlag("parallel sampling (--parallel)",
                "a parallel strategy such as {\"type\": \"best_of_n\", \"n\": N, ...}"));
    }

    private void checkGeneratorFlags() {
        var parsed = spec.commandLine().getParseResult();
        for (var e : GENERATOR_FLAGS.entrySet()) {
            String flag = e.getKey();
            if (!parsed.hasMatchedOption(flag)) {
                continue;
            }
            if (strategy != null) {
                throw new ParameterException(spec.commandLine(), flag + " picks or sets the generator (" + e.getValue().generator()
                        + "); with --strategy, choose it in the spec's leaves: " + e.getValue().inSpec());
            }
            boolean chosen = switch (flag) {
                case "--length-penalty", "--early-stopping", "--diversity-penalty" -> beams > 1 || numReturn > 1 || diverseGroups > 1;
                case "--contrastive-k" -> contrastiveAlpha > 0;
                case "--draft-k" -> speculative.enabled();
                case "--lookup-ngram" -> speculative.lookup;
                default -> true;
            };
            if (!chosen) {
                throw new ParameterException(spec.commandLine(), flag + " applies to " + e.getValue().generator() + ", which is not chosen");
            }
        }
    }

    /** The usage of {@code --parallel}: the prompt is computed once, and every sequence's tokens count. */
    private static Map<String, Object> parallelUsage(List<Generation> all) {
        long prompt = all.getFirst().cost().promptTokens();
        long completion = 0;
        for (Generation x : all) {
            completion += x.cost().generatedTokens();
        }
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", prompt);
        usage.put("completion_tokens", completion);
        usage.put("total_tokens", prompt + completion);
        return usage;
    }

    private ModelOptions modelOptions() {
        return new ModelOptions(threads, contextLength, kvBudgetMib << 20, !noPrefixCache);
    }

    /** The samples of {@code --parallel}, as {@code sequences} in the JSON (the first is also the top level). */
    private static List<Map<String, Object>> parallelSequences(List<Generation> all) {
        List<Map<String, Object>> seqs = new ArrayList<>();
        for (Generation x : all) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("text", x.text());
            m.put("tokens", x.tokens());
            m.put("logprobs", x.logprobs());
            m.put("finish_reason", x.finish().apiName());
            seqs.add(m);
        }
        return seqs;
    }

    /** {@code ID=BIAS}, or llama.cpp's {@code ID+BIAS} / {@code ID-BIAS}; BIAS may be {@code -inf}. */
    static Map<Integer, Float> parseLogitBias(List<String> specs) {
        Map<Integer, Float> bias = new LinkedHashMap<>();
        for (String spec : specs) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*(\\d+)\\s*(=\\s*([-+]?\\S+)|([-+]\\S+))\\s*").matcher(spec);
            if (!m.matches()) {
                throw new MetagenException("--logit-bias expects ID=BIAS (e.g. 13=-inf or 42=1.5), got '" + spec + "'");
            }
            String value = m.group(3) != null ? m.group(3) : m.group(4);
            float b;
            String v = value.toLowerCase(java.util.Locale.ROOT);
            if (v.equals("-inf") || v.equals("-infinity")) {
                b = Float.NEGATIVE_INFINITY;
            } else {
                try {
                    b = Float.parseFloat(value);
                } catch (NumberFormatException e) {
                    throw new MetagenException("--logit-bias: '" + value + "' in '" + spec + "' is not a number or -inf");
                }
            }
            int id;
            try {
                id = Integer.parseInt(m.group(1));
            } catch (NumberFormatException e) {
                throw new MetagenException("--logit-bias: token id '" + m.group(1) + "' in '" + spec + "' is too large");
            }
            bias.put(id, b);
        }
        return bias;
    }

    static Map<String, Object> toJson(Generation g, String modelName, long seed) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", modelName);
        o.put("text", g.text());
        o.put("tokens", g.tokens());
        o.put("finish_reason", g.finish().apiName());
        o.put("logprobs", g.logprobs());
        if (g.trace().containsKey("top_logprobs")) {
            o.put("top_logprobs", g.trace().get("top_logprobs"));
        }
        if (g.trace().get("sequences") instanceof List<?> seqs && seqs.size() > 1) {
            o.put("sequences", seqs);
        }
        o.put("seed", seed);
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", g.cost().promptTokens());
        usage.put("completion_tokens", g.cost().generatedTokens());
        usage.put("total_tokens", g.cost().totalTokens());
        o.put("usage", usage);
        Map<String, Object> timings = new LinkedHashMap<>();
        for (String k : List.of("prefill_ms", "decode_ms", "prefill_tokens_per_s", "decode_tokens_per_s")) {
            timings.put(k, g.trace().get(k));
        }
        o.put("timings", timings);
        if (g.trace().containsKey("acceptance_rate")) { // speculative decoding
            Map<String, Object> spec = new LinkedHashMap<>();
            for (String k : List.of("draft", "draft_k", "target_forwards", "drafted_tokens", "accepted_tokens",
                    "acceptance_rate", "tokens_per_target_forward")) {
                spec.put(k, g.trace().get(k));
            }
            o.put("speculative", spec);
        }
        return o;
    }
}
