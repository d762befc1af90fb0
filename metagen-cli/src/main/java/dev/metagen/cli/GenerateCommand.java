package dev.metagen.cli;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.ContrastiveSearch;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.decoding.beam.BeamGenerator;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.beam.StochasticBeamSearch;
import dev.metagen.decoding.guidance.ClassifierFreeGuidance;
import dev.metagen.decoding.guidance.ContrastiveDecoding;
import dev.metagen.decoding.guidance.ProductOfExperts;
import dev.metagen.decoding.sampling.Sampler;
import dev.metagen.decoding.sampling.SamplingConfig;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
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

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads; 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    // efficient generation (issue #6): parallel samples, KV budget, prefix cache
    @Option(names = "--parallel", defaultValue = "1", description = "Sample N continuations of the prompt at once: the prompt is computed once and every step is one batched forward (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--kv-budget-mib", defaultValue = "0", description = "Bound on the paged KV cache in MiB; 0 = default (8 full-context sequences, at most half the heap).")
    long kvBudgetMib;

    @Option(names = "--no-prefix-cache", description = "Do not reuse cached KV blocks of earlier prompts.")
    boolean noPrefixCache;

    @Option(names = "--ctx", defaultValue = "0", description = "Context length; 0 = the model's, at most 4096 (default: ${DEFAULT-VALUE}).")
    int contextLength;

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

    // speculative decoding (issue #6): --draft / --lookup live in SpeculativeOptions
    @Mixin
    SpeculativeOptions speculative;

    @Override
    public Integer call() {
        if (maxTokens < 0) {
            throw new ParameterException(spec.commandLine(), "--max-tokens must be >= 0, got " + maxTokens);
        }
        ThreadsOption.check(spec, threads);
        if (contextLength < 0) {
            throw new ParameterException(spec.commandLine(), "--ctx must be >= 0, got " + contextLength);
        }
        int searches = (beams > 1 || numReturn > 1 || diverseGroups > 1 ? 1 : 0) + (stochasticBeams > 0 ? 1 : 0) + (contrastiveAlpha > 0 ? 1 : 0);
        if (searches > 1) {
            throw new ParameterException(spec.commandLine(), "choose one of --beams, --stochastic-beams and --contrastive-alpha");
        }
        if (parallel < 1 || parallel > 4096 || kvBudgetMib < 0 || kvBudgetMib > (1L << 30)) {
            throw new ParameterException(spec.commandLine(), "--parallel must be in [1, 4096] and --kv-budget-mib >= 0");
        }
        if (parallel > 1 && (searches > 0 || speculative.enabled() || amateur != null
                || !experts.isEmpty() || cfgScale != 1.0 || strategy != null)) {
            throw new ParameterException(spec.commandLine(), "--parallel works with plain sampling or greedy alone");
        }
        if (logprobs < 0 || logprobs > 1000) {
            throw new ParameterException(spec.commandLine(), "--logprobs must be in [0, 1000], got " + logprobs);
        }
        long s = samplingOptions.seed != null ? samplingOptions.seed : new java.security.SecureRandom().nextLong();
        GenerationParams params;
        SamplingConfig sampling;
        BeamSearch.Settings beamSettings = null;
        try {
            params = new GenerationParams(maxTokens, samplingOptions.temperature, samplingOptions.topK, samplingOptions.topP, s, !noBos, stop);
            sampling = samplingOptions.config(s);
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
            if ((amateur != null || !experts.isEmpty() || cfgScale != 1.0) && searches > 0) {
                throw new MetagenException("--amateur, --expert and --cfg-scale work with sampling or greedy, not with beam or contrastive search");
            }
            if (!Double.isFinite(cfgScale)) {
                throw new MetagenException("--cfg-scale must be a finite number, got " + cfgScale);
            }
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (strategy != null) {
            return StrategyGenerate.run(spec, model.resolve(), strategy, prompt, params, modelOptions(), json);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (TransformerModel m = TransformerModel.load(model.resolve(), modelOptions())) {
            var tokenConstraint = constraint.build(m.tokenizer()); // compiled before generation: errors come first
            if (tokenConstraint != null && searches > 0) {
                throw new MetagenException("--json-schema, --regex, --grammar and --choice work with sampling or greedy, not with beam or contrastive search");
            }
            if (tokenConstraint != null && parallel > 1) {
                throw new MetagenException("--parallel does not combine with --json-schema, --regex, --grammar or --choice");
            }
            int[] promptIds = m.tokenizer().encode(prompt, params.addSpecial());
            if (!json && echo) {
                out.print(prompt);
                out.flush();
            }
            List<Generation> all;
            if (speculative.enabled()) {
                if (tokenConstraint != null || searches > 0 || amateur != null || !experts.isEmpty() || cfgScale != 1.0) {
                    throw new MetagenException("--draft and --lookup work with sampling or greedy alone");
                }
                all = List.of(speculative.generate(m, promptIds, params, sampling, modelOptions()));
            } else if (tokenConstraint != null) {
                all = List.of(ConstraintOptions.generate(m, tokenConstraint, prompt, params, json ? null : out));
            } else if (beamSettings != null) {
                all = BeamGenerator.of(m, new BeamSearch(m, beamSettings, sampling.stopTokens())).generateAll(promptIds, params);
            } else if (stochasticBeams > 0) {
                double t = samplingOptions.temperature > 0 ? samplingOptions.temperature : 1.0;
                all = BeamGenerator.of(m, new StochasticBeamSearch(m, stochasticBeams, t, s, sampling.stopTokens())).generateAll(promptIds, params);
            } else if (contrastiveAlpha > 0) {
                all = List.of(new ContrastiveSearch(m, contrastiveK, contrastiveAlpha).generate(promptIds, params));
            } else if (parallel > 1) {
                all = new SamplingGenerator(m).withSampling(sampling).generateN(promptIds, params, parallel);
            } else {
                all = List.of(sample(m, promptIds, params, sampling, out));
            }
            Generation g = all.getFirst();
            if (json) {
                Map<String, Object> o = toJson(g, m.info().name(), s);
                if (parallel > 1) {
                    o.put("sequences", parallelSequences(all));
                }
                out.println(Json.write(o));
            } else {
                if (all.size() > 1) {
                    for (int i = 0; i < all.size(); i++) {
                        out.printf("%s--- sequence %d, logprob %.4f ---%n%s", i == 0 ? "" : System.lineSeparator(), i + 1,
                                all.get(i).sumLogprob(), all.get(i).text());
                    }
                } else if (beamSettings != null || stochasticBeams > 0 || contrastiveAlpha > 0 || speculative.enabled()
                        || parallel > 1) {
                    out.print(g.text());
                }
                out.println();
                spec.commandLine().getErr().printf("[%d prompt tokens, %.1f tokens/s prefill; %d generated, %.1f tokens/s decode; finish: %s]%n",
                        g.cost().promptTokens(), (double) g.trace().get("prefill_tokens_per_s"),
                        g.cost().generatedTokens(), (double) g.trace().get("decode_tokens_per_s"), g.finish().apiName());
            }
        }
        return 0;
    }

    /**
     * Ancestral sampling or greedy with the adapter chain, streaming the text unless --json; guidance, contrastive
     * decoding and product-of-experts adapters go first in the chain.
     */
    private Generation sample(TransformerModel m, int[] promptIds, GenerationParams params, SamplingConfig sampling, PrintWriter out) {
        List<AutoCloseable> open = new ArrayList<>();
        try {
            List<Sampler> adapters = new ArrayList<>();
            if (cfgScale != 1.0) {
                int[] negative = m.tokenizer().encode(cfgNegativePrompt, !noBos);
                if (negative.length == 0) {
                    throw new MetagenException("--cfg-negative-prompt is empty and the model adds no BOS: guidance needs an unconditional context");
                }
                adapters.add(track(open, new ClassifierFreeGuidance(m, negative, cfgScale)));
            }
            if (amateur != null) {
                TransformerModel a = track(open, TransformerModel.load(amateur, modelOptions()));
                adapters.add(track(open, new ContrastiveDecoding(a, cdAlpha)));
            }
            if (!experts.isEmpty()) {
                List<dev.metagen.core.LanguageModel> models = new ArrayList<>();
                for (Path e : experts) {
                    models.add(track(open, TransformerModel.load(e, modelOptions())));
                }
                List<Double> weights = expertWeights.isEmpty() ? java.util.Collections.nCopies(experts.size(), 1.0) : expertWeights;
                adapters.add(track(open, new ProductOfExperts(1.0, models, weights)));
            }
            SamplingGenerator gen = new SamplingGenerator(m).withSampling(sampling).withTopLogprobs(json ? logprobs : 0)
                    .withAdapters(adapters);
            return gen.generate(promptIds, params, json ? t -> {} : t -> {
                out.print(t);
                out.flush();
            });
        } finally {
            // adapters before the models they use
            for (int i = open.size() - 1; i >= 0; i--) {
                try {
                    open.get(i).close();
                } catch (Exception ignored) {
                    // closing releases caches only
                }
            }
        }
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

    private static <T extends AutoCloseable> T track(List<AutoCloseable> open, T resource) {
        open.add(resource);
        return resource;
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
