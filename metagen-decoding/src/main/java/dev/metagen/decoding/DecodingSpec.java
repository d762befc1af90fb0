package dev.metagen.decoding;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.beam.BeamGenerator;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.beam.StochasticBeamSearch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A token-level strategy from a parsed JSON object (a strategy spec, docs/design.md): {@code {"strategy":
 * "sample" | "greedy" | "beam" | "stochastic_beam" | "contrastive", ...}} with the CLI's parameter names in
 * snake case ({@code top_k}, {@code min_p}, {@code repeat_penalty}, {@code beams}, {@code length_penalty},
 * {@code logit_bias: {"13": "-inf"}}, {@code cfg_scale}, {@code amateur} + {@code cd_alpha}, {@code experts} + {@code expert_weights} ...). Unknown keys are errors, so a typo never passes
 * silently.
 */
public final class DecodingSpec {
    /** A sample or greedy spec takes the sampler, guidance and logprobs fields of the parameter model, and a seed. */
    private static final Set<String> SAMPLING_KEYS;

    static {
        Set<String> keys = new HashSet<>(GenerationFields.SAMPLING);
        keys.addAll(GenerationFields.GUIDANCE);
        keys.add("logprobs");
        keys.add("seed");
        SAMPLING_KEYS = Set.copyOf(keys);
    }
    private static final Set<String> BEAM_KEYS = Set.of("beams", "length_penalty", "early_stopping", "num_return_sequences",
            "diverse_groups", "diversity_penalty", "stop_tokens");

    private DecodingSpec() {}

    /**
     * The generator {@code spec} describes, over {@code model}; a spec that names other models is an error here.
     *
     * @param model the model
     * @param spec the decoding spec (snake_case fields)
     * @return the generator
     */
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
     *
     * @param model the model
     * @param spec the decoding spec (snake_case fields)
     * @param models opens the other models a spec names
     * @return the generator
     */
    public static Generator generator(LanguageModel model, Map<String, ?> spec, Function<String, LanguageModel> models) {
        String strategy = String.valueOf(spec.get("strategy") == null ? "sample" : spec.get("strategy")).toLowerCase(Locale.ROOT);
        Map<String, Object> p = new HashMap<>(spec);
        p.remove("strategy");
        return switch (strategy) {
            case "sample", "greedy" -> {
                checkKeys(strategy, p, SAMPLING_KEYS);
                boolean greedy = strategy.equals("greedy");
                Map<String, Object> fields = new HashMap<>(p);
                fields.remove("seed"); // the seed is the call's
                GenerationParams probe = GenerationFields.apply(GenerationParams.greedy(1), fields, "$"); // errors first
                // the models the spec names are opened now, once: a missing one is an error before the first call
                Map<String, LanguageModel> opened = new HashMap<>();
                List<String> refs = new ArrayList<>(probe.guidance().experts());
                if (probe.guidance().amateur() != null) {
                    refs.add(probe.guidance().amateur());
                }
                for (String ref : refs) {
                    opened.computeIfAbsent(ref, models);
                }
                GuidanceProcessors guidance = new GuidanceProcessors(model, ref -> opened.computeIfAbsent(ref, models));
                SamplingGenerator gen = new SamplingGenerator(model).withProcessors(guidance);
                Long seed = p.containsKey("seed") ? (long) doubleOf(p, "seed", 0) : null;
                yield (prompt, params) -> {
                    GenerationParams q = GenerationFields.apply(params, fields, "$");
                    if (greedy) {
                        q = q.withSampling(q.sampling().temperature(0));
                    }
                    if (seed != null) {
                        q = q.withSeed(seed);
                    }
                    return gen.generate(prompt, q);
                };
            }
            case "beam" -> {
                checkKeys(strategy, p, BEAM_KEYS);
                int beams = intOf(p, "beams", 4);
                BeamSearch.Settings s = new BeamSearch.Settings(beams, doubleOf(p, "length_penalty", 1.0),
                        Boolean.TRUE.equals(p.get("early_stopping")), intOf(p, "num_return_sequences", 1),
                        intOf(p, "diverse_groups", 1), doubleOf(p, "diversity_penalty", 0));
                Set<Integer> specStops = intSet(p, "stop_tokens");
                // the search is built per call: it applies the call's logit processors (penalties, bias, ...)
                yield new Generator() {
                    private BeamGenerator beams(GenerationParams params) {
                        Set<Integer> stops = new java.util.HashSet<>(params.sampling().stopTokens());
                        stops.addAll(specStops);
                        return BeamGenerator.of(model, new BeamSearch(model, s, params.sampling().stopTokens(stops)));
                    }

                    @Override
                    public Generation generate(Prompt prompt, GenerationParams params) {
                        return beams(params).generate(prompt, params);
                    }

                    @Override
                    public long maxModelCalls(Prompt prompt, GenerationParams params) {
                        return beams(params).maxModelCalls(prompt, params);
                    }

                    @Override
                    public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
                        return beams(params).maxGeneratedTokens(prompt, params);
                    }
                };
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
