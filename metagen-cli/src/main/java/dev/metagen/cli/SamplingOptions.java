package dev.metagen.cli;

import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.SamplingConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The sampler-chain flags (llama.cpp / vLLM names and defaults) shared by the commands that sample:
 * {@code generate} and {@code chat}.
 */
final class SamplingOptions {
    /** The flag of each generation field a model's own defaults can set ({@link GenerationFields#MODEL_SAMPLING_KEYS}). */
    static final Map<String, String> FLAG_OF_FIELD = Map.ofEntries(
            Map.entry("samplers", "--samplers"), Map.entry("top_k", "--top-k"), Map.entry("top_p", "--top-p"),
            Map.entry("min_p", "--min-p"), Map.entry("xtc_probability", "--xtc-probability"),
            Map.entry("xtc_threshold", "--xtc-threshold"), Map.entry("temperature", "--temperature"),
            Map.entry("repeat_last_n", "--repeat-last-n"), Map.entry("repeat_penalty", "--repeat-penalty"),
            Map.entry("mirostat", "--mirostat"), Map.entry("mirostat_tau", "--mirostat-tau"),
            Map.entry("mirostat_eta", "--mirostat-eta"));

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Keep the k most likely tokens; 0 disables (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus sampling threshold in (0, 1]; 1 disables (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "Keep tokens with p >= min-p * p_max; 0 disables (default: ${DEFAULT-VALUE}).")
    double minP;

    @Option(names = "--typical-p", defaultValue = "1.0", description = "Locally typical sampling mass in (0, 1]; 1 disables (default: ${DEFAULT-VALUE}).")
    double typicalP;

    @Option(names = "--epsilon", defaultValue = "0", description = "Epsilon sampling: drop tokens with p < epsilon; 0 disables.")
    double epsilon;

    @Option(names = "--eta", defaultValue = "0", description = "Eta sampling: drop tokens with p < min(eta, sqrt(eta) e^-H); 0 disables.")
    double eta;

    @Option(names = "--top-n-sigma", defaultValue = "0", description = "Keep logits within n standard deviations of the max; 0 disables.")
    double topNSigma;

    @Option(names = "--dynatemp-range", defaultValue = "0", description = "Entropy-based dynamic temperature range; 0 disables.")
    double dynatempRange;

    @Option(names = "--dynatemp-exp", defaultValue = "1.0", description = "Dynamic temperature exponent (default: ${DEFAULT-VALUE}).")
    double dynatempExponent;

    @Option(names = "--mirostat", defaultValue = "0", description = "Mirostat version: 0 off, 1 or 2 (replaces the truncation samplers).")
    int mirostat;

    @Option(names = "--mirostat-tau", defaultValue = "5.0", description = "Mirostat target surprise in bits (default: ${DEFAULT-VALUE}).")
    double mirostatTau;

    @Option(names = "--mirostat-eta", defaultValue = "0.1", description = "Mirostat learning rate (default: ${DEFAULT-VALUE}).")
    double mirostatEta;

    @Option(names = "--xtc-probability", defaultValue = "0", description = "XTC: chance of excluding the top choices; 0 disables.")
    double xtcProbability;

    @Option(names = "--xtc-threshold", defaultValue = "0.1", description = "XTC: probability threshold of a top choice (default: ${DEFAULT-VALUE}).")
    double xtcThreshold;

    @Option(names = "--dry-multiplier", defaultValue = "0", description = "DRY repetition penalty strength; 0 disables.")
    double dryMultiplier;

    @Option(names = "--dry-base", defaultValue = "1.75", description = "DRY base (default: ${DEFAULT-VALUE}).")
    double dryBase;

    @Option(names = "--dry-allowed-length", defaultValue = "2", description = "DRY: repeats up to this length are free (default: ${DEFAULT-VALUE}).")
    int dryAllowedLength;

    @Option(names = "--dry-penalty-last-n", defaultValue = "-1", description = "DRY window in tokens; -1 = everything (default: ${DEFAULT-VALUE}).")
    int dryLastN;

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "Repetition penalty; 1 disables (default: ${DEFAULT-VALUE}).")
    double repeatPenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0", description = "Subtract count * this from a seen token's logit.")
    double frequencyPenalty;

    @Option(names = "--presence-penalty", defaultValue = "0", description = "Subtract this from a seen token's logit.")
    double presencePenalty;

    @Option(names = "--repeat-last-n", defaultValue = "64", description = "Penalty window in tokens; 0 off, -1 everything (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = "--no-repeat-ngram", defaultValue = "0", description = "Never repeat an n-gram of this size; 0 disables.")
    int noRepeatNgram;

    @Option(names = "--logit-bias", description = "ID=BIAS (or llama.cpp's ID+BIAS / ID-BIAS); BIAS may be -inf to ban (repeatable).")
    List<String> logitBias = new ArrayList<>();

    @Option(names = "--min-tokens", defaultValue = "0", description = "Suppress end-of-generation until this many tokens.")
    int minTokens;

    @Option(names = "--stop-token", description = "Stop at this token id, like EOS (repeatable).")
    List<Integer> stopTokens = new ArrayList<>();

    @Option(names = "--samplers", description = "Sampler order, ';'-separated (default: " + "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;epsilon;eta;xtc;temperature).")
    String samplers;

    @Option(names = "--seed", description = "Random seed (default: random); the same seed gives the same output (chat: turn t uses seed + t).")
    Long seed;

    /** The sampler chain configuration; throws MetagenException on out-of-range values. */
    SamplingConfig config(long s) {
        SamplingConfig c = new SamplingConfig()
                .temperature(temperature)
                .dynatemp(dynatempRange, dynatempExponent)
                .topK(topK)
                .topP(topP)
                .minP(minP)
                .typicalP(typicalP)
                .epsilon(epsilon)
                .eta(eta)
                .topNSigma(topNSigma)
                .mirostat(mirostat, mirostatTau, mirostatEta)
                .xtc(xtcProbability, xtcThreshold)
                .dry(dryMultiplier, dryBase, dryAllowedLength, dryLastN)
                .penalties(repeatPenalty, frequencyPenalty, presencePenalty, repeatLastN)
                .noRepeatNgram(noRepeatNgram)
                .logitBias(GenerateCommand.parseLogitBias(logitBias))
                .minTokens(minTokens)
                .stopTokens(new HashSet<>(stopTokens))
                .seed(s);
        if (samplers != null) {
            c = c.samplers(samplers);
        }
        return c;
    }

    /**
     * {@code params} with the model's own generation defaults ({@code generation_config.json}, llama.cpp's
     * {@code general.sampling.*}) in every sampler flag the user did not give: llama.cpp's order (built-in default,
     * then the model's, then the command line).
     */
    GenerationParams withModelDefaults(GenerationParams params, LanguageModel m) {
        try {
            return GenerationFields.applyModelDefaults(params, m.generationDefaults(), this::given);
        } catch (MetagenException e) {
            throw new ParameterException(mixee.commandLine(), m.info().name() + ": " + e.getMessage());
        }
    }

    /** The model's defaults that act (those whose flag was not given), in the model's order. */
    Map<String, Object> modelDefaultsApplied(LanguageModel m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.generationDefaults().forEach((k, v) -> {
            if (!given(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** One line on {@code err} naming the model's defaults that act; nothing when none does. */
    void printModelDefaults(LanguageModel m, java.io.PrintWriter err) {
        Map<String, Object> applied = modelDefaultsApplied(m);
        if (applied.isEmpty()) {
            return;
        }
        StringJoiner j = new StringJoiner(", ");
        applied.forEach((k, v) -> j.add(k + " " + v));
        err.println("[generation defaults of " + m.info().name() + ": " + j + "; a flag overrides each]");
        err.flush();
    }

    private boolean given(String field) {
        String flag = FLAG_OF_FIELD.get(field);
        if (flag == null) {
            throw new IllegalStateException("no flag for the generation field " + field);
        }
        return mixee.commandLine().getParseResult().hasMatchedOption(flag);
    }
}
