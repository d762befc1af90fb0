package dev.metagen.core;


import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every sampling knob of a generation, named after llama.cpp's and vLLM's parameters: an immutable value whose
 * {@code with}-style setters return a checked copy (the value is part of {@link GenerationParams}, the one parameter
 * model, so a caller's settings never change under it). Neutral values switch an adapter off (top-k 0, top-p 1,
 * min-p 0, penalties 1/0 ...); the decoding module's {@code SamplerChain.build} turns a config into a chain.
 *
 * <p>Example:
 * <pre>{@code
 * SamplingConfig sampling = new SamplingConfig()
 *         .temperature(0.8)
 *         .topK(40)
 *         .minP(0.05)
 *         .penalties(1.1, 0, 0, 64);    // repeat penalty 1.1 over the last 64 tokens
 * GenerationParams params = GenerationParams.of(128, sampling);
 * }</pre>
 */
public final class SamplingConfig implements Cloneable {
    /** llama.cpp's default {@code --samplers} order, with epsilon and eta placed after min-p. */
    public static final List<String> DEFAULT_ORDER = List.of("penalties", "dry", "top_n_sigma", "top_k", "typ_p",
            "top_p", "min_p", "epsilon", "eta", "xtc", "temperature");
    /** The default DRY sequence breakers (as llama.cpp). */
    public static final List<String> DEFAULT_DRY_BREAKERS = List.of("\n", ":", "\"", "*");

    private double temperature = 1.0;
    private double dynatempRange;
    private double dynatempExponent = 1.0;
    private int topK;
    private double topP = 1.0;
    private double minP;
    private double typicalP = 1.0;
    private double epsilon;
    private double eta;
    private double topNSigma;
    private int mirostat;
    private double mirostatTau = 5.0;
    private double mirostatEta = 0.1;
    private double xtcProbability;
    private double xtcThreshold = 0.1;
    private double dryMultiplier;
    private double dryBase = 1.75;
    private int dryAllowedLength = 2;
    private int dryLastN = -1;
    private List<String> dryBreakers = DEFAULT_DRY_BREAKERS;
    private double repeatPenalty = 1.0;
    private double frequencyPenalty;
    private double presencePenalty;
    private int repeatLastN = 64;
    private int noRepeatNgram;
    private Map<Integer, Float> logitBias = Map.of();
    private int minTokens;
    private Set<Integer> stopTokens = Set.of();
    private List<String> samplers = DEFAULT_ORDER;
    private long seed;

    /** Every knob neutral: temperature 1, every filter and penalty off, llama.cpp's default chain order. */
    public SamplingConfig() {
    }

    /**
     * The sampling settings of {@code p} (every knob, with the call's seed).
     *
     * @param p the call's parameters
     * @return its sampling knobs
     */
    public static SamplingConfig from(GenerationParams p) {
        return p.sampling();
    }

    /**
     * Greedy decoding: temperature 0.
     *
     * @return the knobs
     */
    public static SamplingConfig greedy() {
        return new SamplingConfig().temperature(0);
    }

    private static MetagenException bad(String what, Object value, String rule) {
        return new MetagenException(what + " must be " + rule + ", got " + value);
    }

    private static void finite(String what, double v, double min) {
        if (!(v >= min) || Double.isInfinite(v)) {
            throw bad(what, v, "a finite number >= " + (min == (long) min ? String.valueOf((long) min) : String.valueOf(min)));
        }
    }

    /**
     * Temperature (0: greedy; default 1).
     *
     * @param t the temperature, finite and {@code >= 0}
     * @return the new knobs
     */
    public SamplingConfig temperature(double t) {
        finite("temperature", t, 0);
        SamplingConfig c = copy();
        c.temperature = t;
        return c;
    }

    /**
     * Dynamic temperature (llama.cpp's dynatemp): the temperature varies by {@code range} with the entropy.
     *
     * @param range the range (0: off)
     * @param exponent the entropy exponent ({@code > 0}; default 1)
     * @return the new knobs
     */
    public SamplingConfig dynatemp(double range, double exponent) {
        finite("dynatemp range", range, 0);
        if (!(exponent > 0) || Double.isInfinite(exponent)) {
            throw bad("dynatemp exponent", exponent, "a finite number > 0");
        }
        SamplingConfig c = copy();
        c.dynatempRange = range;
        c.dynatempExponent = exponent;
        return c;
    }

    /**
     * Top-k filter: keep the {@code k} most likely tokens.
     *
     * @param k the count (0: off)
     * @return the new knobs
     */
    public SamplingConfig topK(int k) {
        if (k < 0) {
            throw bad("top-k", k, ">= 0 (0 disables it)");
        }
        SamplingConfig c = copy();
        c.topK = k;
        return c;
    }

    /**
     * Nucleus (top-p) filter (Holtzman et al. 2020).
     *
     * @param p the kept probability mass, in (0, 1] (1: off)
     * @return the new knobs
     */
    public SamplingConfig topP(double p) {
        if (!(p > 0 && p <= 1)) {
            throw bad("top-p", p, "in (0, 1]");
        }
        SamplingConfig c = copy();
        c.topP = p;
        return c;
    }

    /**
     * Min-p filter: drop tokens below {@code p} times the top probability.
     *
     * @param p the ratio in [0, 1] (0: off)
     * @return the new knobs
     */
    public SamplingConfig minP(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw bad("min-p", p, "in [0, 1]");
        }
        SamplingConfig c = copy();
        c.minP = p;
        return c;
    }

    /**
     * Locally typical sampling (Meister et al. 2023).
     *
     * @param p the kept mass, in (0, 1] (1: off)
     * @return the new knobs
     */
    public SamplingConfig typicalP(double p) {
        if (!(p > 0 && p <= 1)) {
            throw bad("typical-p", p, "in (0, 1]");
        }
        SamplingConfig c = copy();
        c.typicalP = p;
        return c;
    }

    /**
     * Epsilon sampling (Hewitt et al. 2022): drop tokens below probability {@code e}.
     *
     * @param e the threshold in [0, 1) (0: off)
     * @return the new knobs
     */
    public SamplingConfig epsilon(double e) {
        if (!(e >= 0 && e < 1)) {
            throw bad("epsilon", e, "in [0, 1) (0 disables it)");
        }
        SamplingConfig c = copy();
        c.epsilon = e;
        return c;
    }

    /**
     * Eta sampling (Hewitt et al. 2022): an entropy-dependent threshold.
     *
     * @param e eta in [0, 1) (0: off)
     * @return the new knobs
     */
    public SamplingConfig eta(double e) {
        if (!(e >= 0 && e < 1)) {
            throw bad("eta", e, "in [0, 1) (0 disables it)");
        }
        SamplingConfig c = copy();
        c.eta = e;
        return c;
    }

    /**
     * Top-n-sigma filter (Tang et al. 2024): keep logits within {@code n} standard deviations of the top one.
     *
     * @param n the width (0: off)
     * @return the new knobs
     */
    public SamplingConfig topNSigma(double n) {
        finite("top-n-sigma", n, 0);
        SamplingConfig c = copy();
        c.topNSigma = n;
        return c;
    }

    /**
     * Mirostat (Basu et al. 2021) at a target surprise.
     *
     * @param version 0 (off), 1 or 2
     * @param tau the target surprise ({@code > 0})
     * @param eta the learning rate ({@code > 0})
     * @return the new knobs
     */
    public SamplingConfig mirostat(int version, double tau, double eta) {
        if (version < 0 || version > 2) {
            throw bad("mirostat", version, "0 (off), 1 or 2");
        }
        if (!(tau > 0) || Double.isInfinite(tau)) {
            throw bad("mirostat tau", tau, "a finite number > 0");
        }
        if (!(eta > 0) || Double.isInfinite(eta)) {
            throw bad("mirostat eta", eta, "a finite number > 0");
        }
        SamplingConfig c = copy();
        c.mirostat = version;
        c.mirostatTau = tau;
        c.mirostatEta = eta;
        return c;
    }

    /**
     * Exclude-top-choices (XTC): with some probability, drop every token above the threshold but the least likely.
     *
     * @param probability the chance per step, in [0, 1] (0: off)
     * @param threshold the probability threshold, in [0, 1]
     * @return the new knobs
     */
    public SamplingConfig xtc(double probability, double threshold) {
        if (!(probability >= 0 && probability <= 1)) {
            throw bad("xtc probability", probability, "in [0, 1]");
        }
        if (!(threshold >= 0 && threshold <= 1)) {
            throw bad("xtc threshold", threshold, "in [0, 1]");
        }
        SamplingConfig c = copy();
        c.xtcProbability = probability;
        c.xtcThreshold = threshold;
        return c;
    }

    /**
     * DRY ("don't repeat yourself") penalty on tokens that extend a repeated sequence.
     *
     * @param multiplier the penalty multiplier (0: off)
     * @param base the exponential base ({@code >= 1})
     * @param allowedLength repeats up to this length go free ({@code >= 1})
     * @param lastN tokens of history scanned (-1: all)
     * @return the new knobs
     */
    public SamplingConfig dry(double multiplier, double base, int allowedLength, int lastN) {
        finite("dry multiplier", multiplier, 0);
        finite("dry base", base, 1);
        if (allowedLength < 1) {
            throw bad("dry allowed length", allowedLength, ">= 1");
        }
        if (lastN < -1) {
            throw bad("dry penalty last n", lastN, ">= -1 (-1 = whole history)");
        }
        SamplingConfig c = copy();
        c.dryMultiplier = multiplier;
        c.dryBase = base;
        c.dryAllowedLength = allowedLength;
        c.dryLastN = lastN;
        return c;
    }

    /**
     * The strings that break DRY's sequence matching.
     *
     * @param breakers the breakers
     * @return the new knobs
     */
    public SamplingConfig dryBreakers(List<String> breakers) {
        SamplingConfig c = copy();
        c.dryBreakers = List.copyOf(breakers);
        return c;
    }

    /**
     * Repetition penalties, as llama.cpp: a multiplicative repeat penalty and OpenAI's additive frequency and
     * presence penalties.
     *
     * @param repeat the repeat penalty ({@code > 0}; 1: off)
     * @param frequency the frequency penalty (0: off)
     * @param presence the presence penalty (0: off)
     * @param lastN tokens of history penalised (-1: all, 0: off)
     * @return the new knobs
     */
    public SamplingConfig penalties(double repeat, double frequency, double presence, int lastN) {
        if (!(repeat > 0) || Double.isInfinite(repeat)) {
            throw bad("repeat penalty", repeat, "a finite number > 0 (1 = off)");
        }
        if (!Double.isFinite(frequency)) {
            throw bad("frequency penalty", frequency, "a finite number");
        }
        if (!Double.isFinite(presence)) {
            throw bad("presence penalty", presence, "a finite number");
        }
        if (lastN < -1) {
            throw bad("repeat-last-n", lastN, ">= -1 (-1 = whole history, 0 = off)");
        }
        SamplingConfig c = copy();
        c.repeatPenalty = repeat;
        c.frequencyPenalty = frequency;
        c.presencePenalty = presence;
        c.repeatLastN = lastN;
        return c;
    }

    /**
     * Forbids every token that would repeat an n-gram already in the output.
     *
     * @param n the n-gram length (0: off)
     * @return the new knobs
     */
    public SamplingConfig noRepeatNgram(int n) {
        if (n < 0) {
            throw bad("no-repeat-ngram", n, ">= 0 (0 disables it)");
        }
        SamplingConfig c = copy();
        c.noRepeatNgram = n;
        return c;
    }

    /**
     * Adds a bias to the logits of given tokens ({@code -inf} forbids a token).
     *
     * @param bias token id to bias
     * @return the new knobs
     */
    public SamplingConfig logitBias(Map<Integer, Float> bias) {
        SamplingConfig c = copy();
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0) {
                throw new MetagenException("logit bias token id must be >= 0, got " + e.getKey());
            }
            if (e.getValue() == null || Float.isNaN(e.getValue()) || e.getValue() == Float.POSITIVE_INFINITY) {
                throw new MetagenException("logit bias for token " + e.getKey() + " must be a number or -inf, got " + e.getValue());
            }
        }
        c.logitBias = Map.copyOf(bias);
        return c;
    }

    /**
     * The least number of tokens before an end-of-generation token may be chosen.
     *
     * @param n the minimum ({@code >= 0})
     * @return the new knobs
     */
    public SamplingConfig minTokens(int n) {
        if (n < 0) {
            throw bad("min-tokens", n, ">= 0");
        }
        SamplingConfig c = copy();
        c.minTokens = n;
        return c;
    }

    /**
     * Extra token ids that end generation like EOS (they are not part of the output).
     *
     * @param ids the token ids
     * @return the new knobs
     */
    public SamplingConfig stopTokens(Set<Integer> ids) {
        for (int id : ids) {
            if (id < 0) {
                throw bad("stop token id", id, ">= 0");
            }
        }
        SamplingConfig c = copy();
        c.stopTokens = Set.copyOf(ids);
        return c;
    }

    /**
     * The chain order, as llama.cpp's {@code --samplers}: names from {@link #DEFAULT_ORDER}.
     *
     * @param names the sampler names, in order
     * @return the new knobs
     */
    public SamplingConfig samplers(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add(canonicalName(n));
        }
        SamplingConfig c = copy();
        c.samplers = List.copyOf(out);
        return c;
    }

    /**
     * Parses a llama.cpp-style list: names separated by ';' or ','.
     *
     * @param list e.g. {@code "top_k;top_p;temperature"}
     * @return the new knobs
     */
    public SamplingConfig samplers(String list) {
        List<String> names = new ArrayList<>();
        for (String s : list.split("[;,]")) {
            if (!s.isBlank()) {
                names.add(s.strip());
            }
        }
        if (names.isEmpty()) {
            throw new MetagenException("--samplers needs at least one name of " + DEFAULT_ORDER);
        }
        return samplers(names);
    }

    /**
     * The seed of the sampler chain's draws.
     *
     * @param s the seed
     * @return the new knobs
     */
    public SamplingConfig seed(long s) {
        SamplingConfig c = copy();
        c.seed = s;
        return c;
    }

    /** A copy to change before it is returned (every field is a value or an immutable collection, so a shallow copy suffices). */
    private SamplingConfig copy() {
        try {
            return (SamplingConfig) super.clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }

    static String canonicalName(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT).replace('-', '_');
        return switch (n) {
            case "penalties", "penalty", "repetition" -> "penalties";
            case "dry" -> "dry";
            case "top_n_sigma", "top_nsigma", "nsigma" -> "top_n_sigma";
            case "top_k", "k" -> "top_k";
            case "typ_p", "typical_p", "typical", "y" -> "typ_p";
            case "top_p", "nucleus", "p" -> "top_p";
            case "min_p", "m" -> "min_p";
            case "epsilon" -> "epsilon";
            case "eta" -> "eta";
            case "xtc", "x" -> "xtc";
            case "temperature", "temp", "t" -> "temperature";
            default -> throw new MetagenException("unknown sampler name '" + name + "' in --samplers; known: "
                    + String.join(", ", DEFAULT_ORDER));
        };
    }

    /** {@return the temperature (0: greedy)} */
    public double temperature() { return temperature; }
    /** {@return the dynamic temperature range (0: off)} */
    public double dynatempRange() { return dynatempRange; }
    /** {@return the dynamic temperature exponent} */
    public double dynatempExponent() { return dynatempExponent; }
    /** {@return the top-k count (0: off)} */
    public int topK() { return topK; }
    /** {@return the top-p mass (1: off)} */
    public double topP() { return topP; }
    /** {@return the min-p ratio (0: off)} */
    public double minP() { return minP; }
    /** {@return the typical-p mass (1: off)} */
    public double typicalP() { return typicalP; }
    /** {@return the epsilon threshold (0: off)} */
    public double epsilon() { return epsilon; }
    /** {@return the eta of eta sampling (0: off)} */
    public double eta() { return eta; }
    /** {@return the top-n-sigma width (0: off)} */
    public double topNSigma() { return topNSigma; }
    /** {@return the mirostat version (0: off, 1 or 2)} */
    public int mirostat() { return mirostat; }
    /** {@return mirostat's target surprise tau} */
    public double mirostatTau() { return mirostatTau; }
    /** {@return mirostat's learning rate eta} */
    public double mirostatEta() { return mirostatEta; }
    /** {@return the XTC chance per step (0: off)} */
    public double xtcProbability() { return xtcProbability; }
    /** {@return the XTC probability threshold} */
    public double xtcThreshold() { return xtcThreshold; }
    /** {@return the DRY multiplier (0: off)} */
    public double dryMultiplier() { return dryMultiplier; }
    /** {@return the DRY base} */
    public double dryBase() { return dryBase; }
    /** {@return the DRY allowed repeat length} */
    public int dryAllowedLength() { return dryAllowedLength; }
    /** {@return the tokens of history DRY scans (-1: all)} */
    public int dryLastN() { return dryLastN; }
    /** {@return the DRY sequence breakers} */
    public List<String> dryBreakers() { return dryBreakers; }
    /** {@return the repeat penalty (1: off)} */
    public double repeatPenalty() { return repeatPenalty; }
    /** {@return the frequency penalty (0: off)} */
    public double frequencyPenalty() { return frequencyPenalty; }
    /** {@return the presence penalty (0: off)} */
    public double presencePenalty() { return presencePenalty; }
    /** {@return the tokens of history penalised (-1: all, 0: off)} */
    public int repeatLastN() { return repeatLastN; }
    /** {@return the no-repeat n-gram length (0: off)} */
    public int noRepeatNgram() { return noRepeatNgram; }
    /** {@return the logit bias, token id to bias} */
    public Map<Integer, Float> logitBias() { return logitBias; }
    /** {@return the least number of tokens before an end-of-generation token} */
    public int minTokens() { return minTokens; }
    /** {@return the extra stop token ids} */
    public Set<Integer> stopTokens() { return stopTokens; }
    /** {@return the sampler chain order} */
    public List<String> samplers() { return samplers; }
    /** {@return the seed of the sampler chain} */
    public long seed() { return seed; }

    private List<Object> key() {
        return java.util.Arrays.asList(temperature, dynatempRange, dynatempExponent, topK, topP, minP, typicalP, epsilon,
                eta, topNSigma, mirostat, mirostatTau, mirostatEta, xtcProbability, xtcThreshold, dryMultiplier, dryBase,
                dryAllowedLength, dryLastN, dryBreakers, repeatPenalty, frequencyPenalty, presencePenalty, repeatLastN,
                noRepeatNgram, logitBias, minTokens, stopTokens, samplers, seed);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SamplingConfig c && key().equals(c.key());
    }

    @Override
    public int hashCode() {
        return key().hashCode();
    }

    @Override
    public String toString() {
        return "SamplingConfig" + describe();
    }

    /**
     * The non-default settings, JSON-friendly (for traces).
     *
     * @return the settings by field name
     */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("temperature", temperature);
        if (dynatempRange > 0) {
            m.put("dynatemp_range", dynatempRange);
            m.put("dynatemp_exponent", dynatempExponent);
        }
        if (topK > 0) m.put("top_k", topK);
        if (topP < 1) m.put("top_p", topP);
        if (minP > 0) m.put("min_p", minP);
        if (typicalP < 1) m.put("typical_p", typicalP);
        if (epsilon > 0) m.put("epsilon", epsilon);
        if (eta > 0) m.put("eta", eta);
        if (topNSigma > 0) m.put("top_n_sigma", topNSigma);
        if (mirostat > 0) {
            m.put("mirostat", mirostat);
            m.put("mirostat_tau", mirostatTau);
            m.put("mirostat_eta", mirostatEta);
        }
        if (xtcProbability > 0) {
            m.put("xtc_probability", xtcProbability);
            m.put("xtc_threshold", xtcThreshold);
        }
        if (dryMultiplier > 0) {
            m.put("dry_multiplier", dryMultiplier);
            m.put("dry_base", dryBase);
            m.put("dry_allowed_length", dryAllowedLength);
        }
        if (repeatPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0) {
            m.put("repeat_penalty", repeatPenalty);
            m.put("frequency_penalty", frequencyPenalty);
            m.put("presence_penalty", presencePenalty);
            m.put("repeat_last_n", repeatLastN);
        }
        if (noRepeatNgram > 0) m.put("no_repeat_ngram", noRepeatNgram);
        if (!logitBias.isEmpty()) m.put("logit_bias", new TreeSet<>(logitBias.keySet()).stream().map(k -> k + "=" + logitBias.get(k)).toList());
        if (minTokens > 0) m.put("min_tokens", minTokens);
        if (!stopTokens.isEmpty()) m.put("stop_tokens", new TreeSet<>(stopTokens));
        m.put("samplers", samplers);
        m.put("seed", seed);
        return m;
    }
}
