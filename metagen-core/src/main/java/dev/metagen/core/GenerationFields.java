package dev.metagen.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The JSON front end of {@link GenerationParams}: every generation field by its snake_case name (llama.cpp's and
 * vLLM's parameter names), read from plain JSON values (maps, lists, strings, numbers, booleans) onto a caller's
 * parameters. Strategy-spec leaves, decoding specs and the server's request fields all go through here, so a field
 * means the same everywhere. The override rules: a field given here replaces the caller's value, except
 * {@code max_tokens}, which can only lower the caller's limit, and {@code stop}, whose strings are added to the
 * caller's. Errors name the field's path.
 *
 * <p>Example:
 * <pre>{@code
 * GenerationParams p = GenerationFields.apply(GenerationParams.greedy(256),
 *         Map.of("temperature", 0.7, "top_p", 0.9, "max_tokens", 64), "$");
 * // p.temperature() == 0.7, p.maxTokens() == 64; an unknown field fails, naming "$.<field>"
 * }</pre>
 */
public final class GenerationFields {
    /** Fields of the sampler chain. */
    public static final Set<String> SAMPLING = Set.of("temperature", "dynatemp_range", "dynatemp_exponent", "top_k",
            "top_p", "min_p", "typical_p", "epsilon", "eta", "top_n_sigma", "mirostat", "mirostat_tau", "mirostat_eta",
            "xtc_probability", "xtc_threshold", "dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n",
            "dry_sequence_breakers", "repeat_penalty", "frequency_penalty", "presence_penalty", "repeat_last_n",
            "no_repeat_ngram", "logit_bias", "min_tokens", "stop_tokens", "samplers");
    /** Fields of the output constraint (at most one language, plus {@code best_effort}). */
    public static final Set<String> CONSTRAINT = Set.of("regex", "grammar", "json_schema", "json_object", "choice",
            "contains", "best_effort");
    /** Fields of guidance. */
    public static final Set<String> GUIDANCE = Set.of("cfg_scale", "cfg_negative_prompt", "amateur", "cd_alpha",
            "experts", "expert_weights");
    /** Fields of the call. */
    public static final Set<String> CALL = Set.of("max_tokens", "stop", "logprobs");
    /** Every field. */
    public static final Set<String> ALL;

    static {
        Set<String> all = new LinkedHashSet<>();
        all.addAll(CALL);
        all.addAll(SAMPLING);
        all.addAll(CONSTRAINT);
        all.addAll(GUIDANCE);
        ALL = Set.copyOf(all);
    }

    private GenerationFields() {}

    /**
     * llama.cpp's {@code general.sampling.*} model metadata (written by its converter from {@code generation_config.json})
     * and the generation field each key sets, as llama.cpp's {@code common_init_sampler_from_model} reads them.
     */
    public static final Map<String, String> MODEL_SAMPLING_KEYS = orderedMap(
            "general.sampling.sequence", "samplers",
            "general.sampling.top_k", "top_k",
            "general.sampling.top_p", "top_p",
            "general.sampling.min_p", "min_p",
            "general.sampling.xtc_probability", "xtc_probability",
            "general.sampling.xtc_threshold", "xtc_threshold",
            "general.sampling.temp", "temperature",
            "general.sampling.penalty_last_n", "repeat_last_n",
            "general.sampling.penalty_repeat", "repeat_penalty",
            "general.sampling.mirostat", "mirostat",
            "general.sampling.mirostat_tau", "mirostat_tau",
            "general.sampling.mirostat_eta", "mirostat_eta");

    private static final Set<String> INTEGER_FIELDS = Set.of("top_k", "repeat_last_n", "mirostat");

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * A model's own generation defaults, read from its {@link #MODEL_SAMPLING_KEYS} metadata: the fields (named as
     * {@link #apply} names them) whose key the model has. A value that is not a number where one is needed is an
     * error naming the key.
     *
     * @param metadata a metadata key's value as text, or null where the model does not have the key
     * @return the fields, in {@link #MODEL_SAMPLING_KEYS} order; empty for a model without any
     */
    public static Map<String, Object> modelDefaults(java.util.function.Function<String, String> metadata) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, String> e : MODEL_SAMPLING_KEYS.entrySet()) {
            String text = metadata.apply(e.getKey());
            if (text == null) {
                continue;
            }
            String field = e.getValue();
            String v = text.strip();
            try {
                if (field.equals("samplers")) {
                    if (!v.isEmpty()) {
                        out.put(field, v);
                    }
                } else if (INTEGER_FIELDS.contains(field)) {
                    out.put(field, Integer.parseInt(v));
                } else {
                    double d = Double.parseDouble(v);
                    if (!Double.isFinite(d)) {
                        throw new NumberFormatException();
                    }
                    out.put(field, d);
                }
            } catch (NumberFormatException bad) {
                throw new MetagenException("model metadata " + e.getKey() + ": '" + v + "' is not "
                        + (INTEGER_FIELDS.contains(field) ? "an integer" : "a finite number"));
            }
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    /**
     * {@code base} with a model's generation defaults applied to every field the caller did not set itself: the order
     * llama.cpp and vLLM use (a front end's built-in default, then the model's, then what the user gave).
     *
     * @param base the parameters with the front end's defaults and the user's values
     * @param defaults the model's defaults ({@link LanguageModel#generationDefaults()})
     * @param givenByUser whether the user set a field (by its snake_case name) themselves
     * @return the parameters with the defaults of the fields the user left alone
     */
    public static GenerationParams applyModelDefaults(GenerationParams base, Map<String, ?> defaults,
                                                      java.util.function.Predicate<String> givenByUser) {
        Map<String, Object> apply = new java.util.LinkedHashMap<>();
        defaults.forEach((k, v) -> {
            if (!givenByUser.test(k)) {
                apply.put(k, v);
            }
        });
        if (apply.isEmpty()) {
            return base;
        }
        try {
            return apply(base, apply, "model generation defaults");
        } catch (MetagenException e) {
            throw new MetagenException(e.getMessage() + " (the model's own defaults: override the field)");
        }
    }

    /**
     * {@code base} with the fields of {@code fields} applied (fields not in {@link #ALL} are an error).
     *
     * @param path the JSON path of the object, for error messages (e.g. {@code $.inner})
     * @param base the parameters to start from
     * @param fields the snake_case fields, e.g. {@code temperature}, {@code max_tokens}
     * @return the new parameters
     */
    public static GenerationParams apply(GenerationParams base, Map<String, ?> fields, String path) {
        for (String k : fields.keySet()) {
            if (!ALL.contains(k)) {
                throw new MetagenException(path + "." + k + ": unknown generation field");
            }
        }
        try {
            return applyChecked(base, fields, path);
        } catch (FieldError e) {
            throw e;
        } catch (MetagenException e) {
            throw new MetagenException(path + ": " + e.getMessage());
        }
    }

    private static GenerationParams applyChecked(GenerationParams base, Map<String, ?> f, String path) {
        GenerationParams p = base;
        if (f.containsKey("max_tokens")) {
            p = p.withMaxTokens(Math.min(p.maxTokens(), intOf(f, "max_tokens", path, 0)));
        }
        if (f.containsKey("stop")) {
            List<String> all = new ArrayList<>(p.stop()); // the caller's stops (e.g. a step delimiter) stay
            all.addAll(strings(f, "stop", path));
            p = p.withStop(all);
        }
        if (f.containsKey("logprobs")) {
            p = p.withLogprobs(intOf(f, "logprobs", path, 0));
        }
        SamplingConfig s = p.sampling();
        if (f.containsKey("temperature")) s = s.temperature(num(f, "temperature", path));
        if (f.containsKey("dynatemp_range") || f.containsKey("dynatemp_exponent")) {
            s = s.dynatemp(num(f, "dynatemp_range", path, s.dynatempRange()), num(f, "dynatemp_exponent", path, s.dynatempExponent()));
        }
        if (f.containsKey("top_k")) s = s.topK(intOf(f, "top_k", path, 0));
        if (f.containsKey("top_p")) s = s.topP(num(f, "top_p", path));
        if (f.containsKey("min_p")) s = s.minP(num(f, "min_p", path));
        if (f.containsKey("typical_p")) s = s.typicalP(num(f, "typical_p", path));
        if (f.containsKey("epsilon")) s = s.epsilon(num(f, "epsilon", path));
        if (f.containsKey("eta")) s = s.eta(num(f, "eta", path));
        if (f.containsKey("top_n_sigma")) s = s.topNSigma(num(f, "top_n_sigma", path));
        if (f.containsKey("mirostat") || f.containsKey("mirostat_tau") || f.containsKey("mirostat_eta")) {
            s = s.mirostat(f.containsKey("mirostat") ? intOf(f, "mirostat", path, 0) : s.mirostat(),
                    num(f, "mirostat_tau", path, s.mirostatTau()), num(f, "mirostat_eta", path, s.mirostatEta()));
        }
        if (f.containsKey("xtc_probability") || f.containsKey("xtc_threshold")) {
            s = s.xtc(num(f, "xtc_probability", path, s.xtcProbability()), num(f, "xtc_threshold", path, s.xtcThreshold()));
        }
        if (f.containsKey("dry_multiplier") || f.containsKey("dry_base") || f.containsKey("dry_allowed_length")
                || f.containsKey("dry_penalty_last_n")) {
            s = s.dry(num(f, "dry_multiplier", path, s.dryMultiplier()), num(f, "dry_base", path, s.dryBase()),
                    f.containsKey("dry_allowed_length") ? intOf(f, "dry_allowed_length", path, 1) : s.dryAllowedLength(),
                    f.containsKey("dry_penalty_last_n") ? intOf(f, "dry_penalty_last_n", path, -1) : s.dryLastN());
        }
        if (f.containsKey("dry_sequence_breakers")) s = s.dryBreakers(strings(f, "dry_sequence_breakers", path));
        if (f.containsKey("repeat_penalty") || f.containsKey("frequency_penalty") || f.containsKey("presence_penalty")
                || f.containsKey("repeat_last_n")) {
            s = s.penalties(num(f, "repeat_penalty", path, s.repeatPenalty()), num(f, "frequency_penalty", path, s.frequencyPenalty()),
                    num(f, "presence_penalty", path, s.presencePenalty()),
                    f.containsKey("repeat_last_n") ? intOf(f, "repeat_last_n", path, -1) : s.repeatLastN());
        }
        if (f.containsKey("no_repeat_ngram")) s = s.noRepeatNgram(intOf(f, "no_repeat_ngram", path, 0));
        if (f.containsKey("logit_bias")) s = s.logitBias(logitBias(f.get("logit_bias"), path + ".logit_bias"));
        if (f.containsKey("min_tokens")) s = s.minTokens(intOf(f, "min_tokens", path, 0));
        if (f.containsKey("stop_tokens")) {
            Set<Integer> ids = new HashSet<>();
            for (Object o : list(f, "stop_tokens", path)) {
                ids.add(toInt(o, path + ".stop_tokens", 0));
            }
            s = s.stopTokens(ids);
        }
        if (f.containsKey("samplers")) {
            Object v = f.get("samplers");
            s = v instanceof List<?> l ? s.samplers(l.stream().map(String::valueOf).toList()) : s.samplers(String.valueOf(v));
        }
        p = p.withSampling(s);
        OutputConstraint c = constraint(f, path);
        if (c != null) {
            p = p.withConstraint(c);
        }
        p = p.withGuidance(guidance(p.guidance(), f, path));
        return p;
    }

    /**
     * The constraint the fields name, or null; at most one language may be given.
     *
     * @param f the fields
     * @param path the JSON path of the object, for error messages
     * @return the constraint, or null when none is named
     */
    public static OutputConstraint constraint(Map<String, ?> f, String path) {
        List<String> given = new ArrayList<>();
        for (String k : CONSTRAINT) {
            if (!k.equals("best_effort") && f.containsKey(k)) {
                given.add(k);
            }
        }
        if (given.isEmpty()) {
            if (f.containsKey("best_effort")) {
                throw new FieldError(path + ".best_effort", "applies to json_schema only");
            }
            return null;
        }
        if (given.size() > 1) {
            given.sort(null);
            throw new FieldError(path, "give exactly one of regex, grammar, json_schema, json_object, choice, contains; got " + given);
        }
        String k = given.getFirst();
        Object v = f.get(k);
        boolean bestEffort = false;
        if (f.containsKey("best_effort")) {
            if (!k.equals("json_schema")) {
                throw new FieldError(path + ".best_effort", "applies to json_schema only");
            }
            bestEffort = Boolean.TRUE.equals(f.get("best_effort"));
        }
        return switch (k) {
            case "regex" -> OutputConstraint.regex(text(v, path + ".regex"));
            case "grammar" -> OutputConstraint.grammar(text(v, path + ".grammar"));
            case "json_schema" -> OutputConstraint.jsonSchema(text(v, path + ".json_schema"), bestEffort); // front ends write an object as JSON text
            case "json_object" -> {
                if (!Boolean.TRUE.equals(v)) {
                    throw new FieldError(path + ".json_object", "must be true");
                }
                yield OutputConstraint.jsonObject();
            }
            case "choice" -> OutputConstraint.choice(words(v, path + ".choice"));
            default -> OutputConstraint.contains(words(v, path + ".contains"));
        };
    }

    private static Guidance guidance(Guidance g, Map<String, ?> f, String path) {
        if (f.containsKey("cfg_scale") || f.containsKey("cfg_negative_prompt")) {
            g = g.withCfg(num(f, "cfg_scale", path, g.cfgScale()),
                    f.containsKey("cfg_negative_prompt") ? text(f.get("cfg_negative_prompt"), path + ".cfg_negative_prompt") : g.cfgNegativePrompt());
        }
        if (f.containsKey("amateur") || f.containsKey("cd_alpha")) {
            String amateur = f.containsKey("amateur") ? text(f.get("amateur"), path + ".amateur") : g.amateur();
            if (amateur == null) {
                throw new FieldError(path + ".cd_alpha", "needs an amateur model (\"amateur\": a model name or path)");
            }
            g = g.withAmateur(amateur, num(f, "cd_alpha", path, g.cdAlpha()));
        }
        if (f.containsKey("experts") || f.containsKey("expert_weights")) {
            if (!f.containsKey("experts") && g.experts().isEmpty()) {
                throw new FieldError(path + ".expert_weights", "needs experts (\"experts\": [model names or paths])");
            }
            List<String> experts = f.containsKey("experts") ? words(f.get("experts"), path + ".experts") : g.experts();
            List<Double> weights = new ArrayList<>();
            if (f.containsKey("expert_weights")) {
                for (Object o : list(f, "expert_weights", path)) {
                    if (!(o instanceof Number n)) {
                        throw new FieldError(path + ".expert_weights", "expected numbers, got " + o);
                    }
                    weights.add(n.doubleValue());
                }
            }
            g = g.withExperts(experts, weights);
        }
        return g;
    }

    /**
     * Token id to bias; a bias may be a number or {@code "-inf"}.
     *
     * @param v a JSON object of token id to bias
     * @param path the JSON path of the field, for error messages
     * @return the bias of each token
     */
    public static Map<Integer, Float> logitBias(Object v, String path) {
        if (!(v instanceof Map<?, ?> m)) {
            throw new FieldError(path, "expected an object of token id to bias, got " + v);
        }
        Map<Integer, Float> bias = new HashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            int id = toInt(String.valueOf(e.getKey()).strip(), path, 0);
            Object b = e.getValue();
            String str = String.valueOf(b).strip().toLowerCase(Locale.ROOT);
            float value;
            if (str.equals("-inf") || str.equals("-infinity")) {
                value = Float.NEGATIVE_INFINITY;
            } else if (b instanceof Number n) {
                value = n.floatValue();
            } else {
                try {
                    value = Float.parseFloat(str);
                } catch (NumberFormatException ex) {
                    throw new FieldError(path + "." + e.getKey(), "a bias is a number or \"-inf\", got '" + b + "'");
                }
            }
            bias.put(id, value);
        }
        return bias;
    }

    private static double num(Map<String, ?> f, String k, String path) {
        Object v = f.get(k);
        if (!(v instanceof Number n)) {
            throw new FieldError(path + "." + k, "expected a number, got " + describe(v));
        }
        return n.doubleValue();
    }

    private static double num(Map<String, ?> f, String k, String path, double fallback) {
        return f.containsKey(k) ? num(f, k, path) : fallback;
    }

    private static int intOf(Map<String, ?> f, String k, String path, int min) {
        return toInt(f.get(k), path + "." + k, min);
    }

    private static int toInt(Object v, String path, int min) {
        long x;
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
            x = n.longValue();
        } else if (v instanceof String s) {
            try {
                x = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new FieldError(path, "expected an integer, got '" + s + "'");
            }
        } else {
            throw new FieldError(path, "expected an integer, got " + describe(v));
        }
        if (x < min || x > Integer.MAX_VALUE) {
            throw new FieldError(path, "must be an integer in [" + min + ", " + Integer.MAX_VALUE + "], got " + x);
        }
        return (int) x;
    }

    private static List<?> list(Map<String, ?> f, String k, String path) {
        if (!(f.get(k) instanceof List<?> l)) {
            throw new FieldError(path + "." + k, "expected an array, got " + describe(f.get(k)));
        }
        return l;
    }

    private static List<String> strings(Map<String, ?> f, String k, String path) {
        return words(f.get(k), path + "." + k);
    }

    private static String text(Object v, String path) {
        if (!(v instanceof String s)) {
            throw new FieldError(path, "expected a string, got " + describe(v));
        }
        return s;
    }

    private static List<String> words(Object v, String path) {
        if (!(v instanceof List<?> l) || !l.stream().allMatch(x -> x instanceof String)) {
            throw new FieldError(path, "expected an array of strings, got " + describe(v));
        }
        return l.stream().map(String.class::cast).toList();
    }

    private static String describe(Object v) {
        return v == null ? "null" : v instanceof String s ? "string \"" + s + "\"" : v.getClass().getSimpleName().toLowerCase(Locale.ROOT) + " " + v;
    }

    /** An error that already names its field's path. */
    public static final class FieldError extends MetagenException {
        /** The JSON path of the field. */
        private final String field;
        /** What is wrong with it. */
        private final String problem;

        FieldError(String field, String problem) {
            super(field + ": " + problem);
            this.field = field;
            this.problem = problem;
        }

        /**
         * The JSON path of the field.
         *
         * @return the path, e.g. {@code $.temperature}
         */
        public String field() {
            return field;
        }

        /**
         * What is wrong with it, without the path.
         *
         * @return the problem
         */
        public String problem() {
            return problem;
        }
    }
}
