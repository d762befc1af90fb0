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
 */
public final class SamplingConfig implements Cloneable {
    /** llama.cpp's default {@code --samplers} order, with epsilon and eta placed after min-p. */
    public static final List<String> DEFAULT_ORDER = List.of("penalties", "dry", "top_n_sigma", "top_k", "typ_p",
            "top_p", "min_p", "epsilon", "eta", "xtc", "temperature");
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

    /** The sampling settings of {@code p} (every knob, with the call's seed). */
    public static SamplingConfig from(GenerationParams p) {
        return p.sampling();
    }

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

    public SamplingConfig temperature(double t) {
        finite("temperature", t, 0);
        SamplingConfig c = copy();
        c.temperature = t;
        return c;
    }

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

    public SamplingConfig topK(int k) {
        if (k < 0) {
            throw bad("top-k", k, ">= 0 (0 disables it)");
        }
        SamplingConfig c = copy();
        c.topK = k;
        return c;
    }

    public SamplingConfig topP(double p) {
        if (!(p > 0 && p <= 1)) {
            throw bad("top-p", p, "in (0, 1]");
        }
        SamplingConfig c = copy();
        c.topP = p;
        return c;
    }

    public SamplingConfig minP(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw bad("min-p", p, "in [0, 1]");
        }
        SamplingConfig c = copy();
        c.minP = p;
        return c;
    }

    public SamplingConfig typicalP(double p) {
        if (!(p > 0 && p <= 1)) {
            throw bad("typical-p", p, "in (0, 1]");
        }
        SamplingConfig c = copy();
        c.typicalP = p;
        return c;
    }

    public SamplingConfig epsilon(double e) {
        if (!(e >= 0 && e < 1)) {
            throw bad("epsilon", e, "in [0, 1) (0 disables it)");
        }
        SamplingConfig c = copy();
        c.epsilon = e;
        return c;
    }

    public SamplingConfig eta(double e) {
        if (!(e >= 0 && e < 1)) {
            throw bad("eta", e, "in [0, 1) (0 disables it)");
        }
        SamplingConfig c = copy();
        c.eta = e;
        return c;
    }

    public SamplingConfig topNSigma(double n) {
        finite("top-n-sigma", n, 0);
        SamplingConfig c = copy();
        c.topNSigma = n;
        return c;
    }

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

    public SamplingConfig dryBreakers(List<String> breakers) {
        SamplingConfig c = copy();
        c.dryBreakers = List.copyOf(breakers);
        return c;
    }

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

    public SamplingConfig noRepeatNgram(int n) {
        if (n < 0) {
            throw bad("no-repeat-ngram", n, ">= 0 (0 disables it)");
        }
        SamplingConfig c = copy();
        c.noRepeatNgram = n;
        return c;
    }

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

    public SamplingConfig minTokens(int n) {
        if (n < 0) {
            throw bad("min-tokens", n, ">= 0");
        }
        SamplingConfig c = copy();
        c.minTokens = n;
        return c;
    }

    /** Extra token ids that end generation like EOS (they are not part of the output). */
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

    /** The chain order, as llama.cpp's {@code --samplers}: names from {@link #DEFAULT_ORDER}. */
    public SamplingConfig samplers(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add(canonicalName(n));
        }
        SamplingConfig c = copy();
        c.samplers = List.copyOf(out);
        return c;
    }

    /** Parses a llama.cpp-style list: names separated by ';' or ','. */
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

    public double temperature() { return temperature; }
    public double dynatempRange() { return dynatempRange; }
    public double dynatempExponent() { return dynatempExponent; }
    public int topK() { return topK; }
    public double topP() { return topP; }
    public double minP() { return minP; }
    public double typicalP() { return typicalP; }
    public double epsilon() { return epsilon; }
    public double eta() { return eta; }
    public double topNSigma() { return topNSigma; }
    public int mirostat() { return mirostat; }
    public double mirostatTau() { return mirostatTau; }
    public double mirostatEta() { return mirostatEta; }
    public double xtcProbability() { return xtcProbability; }
    public double xtcThreshold() { return xtcThreshold; }
    public double dryMultiplier() { return dryMultiplier; }
    public double dryBase() { return dryBase; }
    public int dryAllowedLength() { return dryAllowedLength; }
    public int dryLastN() { return dryLastN; }
    public List<String> dryBreakers() { return dryBreakers; }
    public double repeatPenalty() { return repeatPenalty; }
    public double frequencyPenalty() { return frequencyPenalty; }
    public double presencePenalty() { return presencePenalty; }
    public int repeatLastN() { return repeatLastN; }
    public int noRepeatNgram() { return noRepeatNgram; }
    public Map<Integer, Float> logitBias() { return logitBias; }
    public int minTokens() { return minTokens; }
    public Set<Integer> stopTokens() { return stopTokens; }
    public List<String> samplers() { return samplers; }
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

    /** The non-default settings, JSON-friendly (for traces). */
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
