package dev.metagen.decoding;

import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.beam.BeamGenerator;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.beam.StochasticBeamSearch;
import dev.metagen.decoding.guidance.ClassifierFreeGuidance;
import dev.metagen.decoding.guidance.ContrastiveDecoding;
import dev.metagen.decoding.guidance.ProductOfExperts;
import dev.metagen.decoding.sampling.Sampler;
import dev.metagen.decoding.sampling.SamplingConfig;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A token-level strategy from a parsed JSON object (the strategy spec of DESIGN.md): {@code {"strategy":
 * "sample" | "greedy" | "beam" | "stochastic_beam" | "contrastive", ...}} with the CLI's parameter names in
 * snake case ({@code top_k}, {@code min_p}, {@code repeat_penalty}, {@code beams}, {@code length_penalty},
 * {@code logit_bias: {"13": "-inf"}}, {@code cfg_scale}, {@code amateur} + {@code cd_alpha}, {@code experts} + {@code expert_weights} ...). Unknown keys are errors, so a typo never passes
 * silently.
 */
public final class DecodingSpec {
    private static final Set<String> SAMPLING_KEYS = Set.of("temperature", "dynatemp_range", "dynatemp_exponent", "top_k",
            "top_p", "min_p", "typical_p", "epsilon", "eta", "top_n_sigma", "mirostat", "mirostat_tau", "mirostat_eta",
            "xtc_probability", "xtc_threshold", "dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n",
            "dry_sequence_breakers", "repeat_penalty", "frequency_penalty", "presence_penalty", "repeat_last_n",
            "no_repeat_ngram", "logit_bias", "min_tokens", "stop_tokens", "samplers", "seed", "logprobs", "cfg_scale",
            "cfg_negative_prompt", "amateur", "cd_alpha", "experts", "expert_weights");
    private static final Set<String> BEAM_KEYS = Set.of("beams", "length_penalty", "early_stopping", "num_return_sequences",
            "diverse_groups", "diversity_penalty", "stop_tokens");

    private DecodingSpec() {}

    /** The generator {@code spec} describes, over {@code model}; a spec that names other models is an error here. */
    public static Generator generator(LanguageModel model, Map<String, ?> spec) {
        return generator(model, spec, path -> {
            throw new MetagenException("this spec names another model (" + path + ", for amateur or experts), "
                    + "but no model loader was given");
        });
    }

    /**
     * The generator {@code spec} describes, over {@code model}. {@code models} opens the other models a spec names
     * by path ({@code amateur} for contrastive decoding, {@code experts} for a product of experts); the caller owns
     * and closes them.
     */
    public static Generator generator(LanguageModel model, Map<String, ?> spec, Function<String, LanguageModel> models) {
        String strategy = String.valueOf(spec.get("strategy") == null ? "sample" : spec.get("strategy")).toLowerCase(Locale.ROOT);
        Map<String, Object> p = new HashMap<>(spec);
        p.remove("strategy");
        return switch (strategy) {
            case "sample", "greedy" -> {
                checkKeys(strategy, p, SAMPLING_KEYS);
                SamplingConfig c = sampling(p);
                if (strategy.equals("greedy")) {
                    c.temperature(0);
                }
                SamplingGenerator gen = new SamplingGenerator(model).withSampling(c).withTopLogprobs(intOf(p, "logprobs", 0));
                List<Sampler> adapters = new ArrayList<>();
                double scale = doubleOf(p, "cfg_scale", 1.0);
                if (scale != 1.0) {
                    // the unconditional context: the negative prompt, or BOS alone
                    int[] negative = model.tokenizer().encode(String.valueOf(p.getOrDefault("cfg_negative_prompt", "")), true);
                    adapters.add(new ClassifierFreeGuidance(model, negative, scale));
                }
                if (p.get("amateur") != null) {
                    adapters.add(new ContrastiveDecoding(models.apply(String.valueOf(p.get("amateur"))),
                            doubleOf(p, "cd_alpha", 0.1)));
                } else if (p.containsKey("cd_alpha")) {
                    throw new MetagenException("cd_alpha needs an amateur model (\"amateur\": path)");
                }
                if (p.get("experts") != null) {
                    if (!(p.get("experts") instanceof List<?> paths) || paths.isEmpty()) {
                        throw new MetagenException("experts must be a non-empty array of model paths, got " + p.get("experts"));
                    }
                    List<Double> weights = new ArrayList<>();
                    if (p.get("expert_weights") instanceof List<?> w) {
                        for (Object o : w) {
                            weights.add(doubleOf(Map.of("expert_weights", o), "expert_weights", 1.0));
                        }
                        if (weights.size() != paths.size()) {
                            throw new MetagenException("expert_weights has " + weights.size() + " entries for " + paths.size() + " experts");
                        }
                    } else if (p.containsKey("expert_weights")) {
                        throw new MetagenException("expert_weights must be an array of numbers, got " + p.get("expert_weights"));
                    } else {
                        weights.addAll(java.util.Collections.nCopies(paths.size(), 1.0));
                    }
                    List<LanguageModel> experts = new ArrayList<>();
                    for (Object path : paths) {
                        experts.add(models.apply(String.valueOf(path)));
                    }
                    adapters.add(new ProductOfExperts(1.0, experts, weights));
                } else if (p.containsKey("expert_weights")) {
                    throw new MetagenException("expert_weights needs experts (\"experts\": [paths])");
                }
                yield adapters.isEmpty() ? gen : gen.withAdapters(adapters);
            }
            case "beam" -> {
                checkKeys(strategy, p, BEAM_KEYS);
                int beams = intOf(p, "beams", 4);
                BeamSearch.Settings s = new BeamSearch.Settings(beams, doubleOf(p, "length_penalty", 1.0),
                        Boolean.TRUE.equals(p.get("early_stopping")), intOf(p, "num_return_sequences", 1),
                        intOf(p, "diverse_groups", 1), doubleOf(p, "diversity_penalty", 0));
                yield BeamGenerator.of(model, new BeamSearch(model, s, intSet(p, "stop_tokens")));
            }
            case "stochastic_beam" -> {
                checkKeys(strategy, p, Set.of("beams", "temperature", "seed", "stop_tokens"));
                yield BeamGenerator.of(model, new StochasticBeamSearch(model, intOf(p, "beams", 4),
                        doubleOf(p, "temperature", 1.0), (long) doubleOf(p, "seed", 0), intSet(p, "stop_tokens")));
            }
            case "contrastive" -> {
                checkKeys(strategy, p, Set.of("alpha", "k"));
                yield new ContrastiveSearch(model, intOf(p, "k", 4), doubleOf(p, "alpha", 0.6));
            }
            default -> throw new MetagenException("unknown decoding strategy '" + strategy
                    + "' (known: sample, greedy, beam, stochastic_beam, contrastive)");
        };
    }

    /** A sampling config from spec keys (all optional; absent keys keep the neutral defaults, temperature 1). */
    public static SamplingConfig sampling(Map<String, ?> p) {
        SamplingConfig c = new SamplingConfig()
                .temperature(doubleOf(p, "temperature", 1.0))
                .dynatemp(doubleOf(p, "dynatemp_range", 0), doubleOf(p, "dynatemp_exponent", 1.0))
                .topK(intOf(p, "top_k", 0))
                .topP(doubleOf(p, "top_p", 1.0))
                .minP(doubleOf(p, "min_p", 0))
                .typicalP(doubleOf(p, "typical_p", 1.0))
                .epsilon(doubleOf(p, "epsilon", 0))
                .eta(doubleOf(p, "eta", 0))
                .topNSigma(doubleOf(p, "top_n_sigma", 0))
                .mirostat(intOf(p, "mirostat", 0), doubleOf(p, "mirostat_tau", 5.0), doubleOf(p, "mirostat_eta", 0.1))
                .xtc(doubleOf(p, "xtc_probability", 0), doubleOf(p, "xtc_threshold", 0.1))
                .dry(doubleOf(p, "dry_multiplier", 0), doubleOf(p, "dry_base", 1.75), intOf(p, "dry_allowed_length", 2),
                        intOf(p, "dry_penalty_last_n", -1))
                .penalties(doubleOf(p, "repeat_penalty", 1.0), doubleOf(p, "frequency_penalty", 0),
                        doubleOf(p, "presence_penalty", 0), intOf(p, "repeat_last_n", 64))
                .noRepeatNgram(intOf(p, "no_repeat_ngram", 0))
                .minTokens(intOf(p, "min_tokens", 0))
                .stopTokens(intSet(p, "stop_tokens"))
                .seed((long) doubleOf(p, "seed", 0));
        if (p.get("dry_sequence_breakers") instanceof List<?> l) {
            c.dryBreakers(l.stream().map(String::valueOf).toList());
        }
        if (p.get("logit_bias") instanceof Map<?, ?> m) {
            Map<Integer, Float> bias = new HashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                bias.put(parseInt("logit_bias key", e.getKey()), parseBias(e.getValue()));
            }
            c.logitBias(bias);
        } else if (p.containsKey("logit_bias")) {
            throw new MetagenException("logit_bias must be an object of token id to bias, got " + p.get("logit_bias"));
        }
        Object samplers = p.get("samplers");
        if (samplers instanceof List<?> l) {
            c.samplers(l.stream().map(String::valueOf).toList());
        } else if (samplers != null) {
            c.samplers(String.valueOf(samplers));
        }
        return c;
    }

    private static void checkKeys(String strategy, Map<String, ?> p, Set<String> known) {
        for (String k : p.keySet()) {
            if (!known.contains(k)) {
                throw new MetagenException("unknown key '" + k + "' for strategy " + strategy + " (known: " + new java.util.TreeSet<>(known) + ")");
            }
        }
    }

    private static double doubleOf(Map<String, ?> p, String key, double dflt) {
        Object v = p.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        try {
            return Double.parseDouble(String.valueOf(v));
        } catch (NumberFormatException e) {
            throw new MetagenException(key + " must be a number, got '" + v + "'");
        }
    }

    private static int intOf(Map<String, ?> p, String key, int dflt) {
        Object v = p.get(key);
        return v == null ? dflt : parseInt(key, v);
    }

    private static int parseInt(String what, Object v) {
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        try {
            return Integer.parseInt(String.valueOf(v).strip());
        } catch (NumberFormatException e) {
            throw new MetagenException(what + " must be an integer, got '" + v + "'");
        }
    }

    private static float parseBias(Object v) {
        String s = String.valueOf(v).strip().toLowerCase(Locale.ROOT);
        if (s.equals("-inf") || s.equals("-infinity")) {
            return Float.NEGATIVE_INFINITY;
        }
        if (v instanceof Number n) {
            return n.floatValue();
        }
        try {
            return Float.parseFloat(s);
        } catch (NumberFormatException e) {
            throw new MetagenException("logit bias must be a number or \"-inf\", got '" + v + "'");
        }
    }

    private static Set<Integer> intSet(Map<String, ?> p, String key) {
        Object v = p.get(key);
        if (v == null) {
            return Set.of();
        }
        if (!(v instanceof List<?> l)) {
            throw new MetagenException(key + " must be a list of token ids, got " + v);
        }
        Set<Integer> out = new HashSet<>();
        for (Object o : l) {
            out.add(parseInt(key, o));
        }
        return out;
    }
}
