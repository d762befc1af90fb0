package dev.metagen.cli;

import dev.metagen.decoding.sampling.SamplingConfig;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * The sampler-chain flags (llama.cpp / vLLM names and defaults, as {@code generate} has them) for commands that
 * sample turn after turn, such as {@code chat}.
 */
final class SamplingOptions {
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

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "Repetition penalty; 1 disables (default: ${DEFAULT-VALUE}).")
    double repeatPenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0", description = "Subtract count * this from a seen token's logit.")
    double frequencyPenalty;

    @Option(names = "--presence-penalty", defaultValue = "0", description = "Subtract this from a seen token's logit.")
    double presencePenalty;

    @Option(names = "--repeat-last-n", defaultValue = "64", description = "Penalty window in tokens; 0 off, -1 everything (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = "--dry-multiplier", defaultValue = "0", description = "DRY repetition penalty strength; 0 disables.")
    double dryMultiplier;

    @Option(names = "--mirostat", defaultValue = "0", description = "Mirostat version: 0 off, 1 or 2.")
    int mirostat;

    @Option(names = "--mirostat-tau", defaultValue = "5.0", description = "Mirostat target surprise in bits (default: ${DEFAULT-VALUE}).")
    double mirostatTau;

    @Option(names = "--mirostat-eta", defaultValue = "0.1", description = "Mirostat learning rate (default: ${DEFAULT-VALUE}).")
    double mirostatEta;

    @Option(names = "--logit-bias", description = "ID=BIAS; BIAS may be -inf to ban (repeatable).")
    List<String> logitBias = new ArrayList<>();

    @Option(names = "--samplers", description = "Sampler order, ';'-separated (as generate).")
    String samplers;

    @Option(names = "--seed", description = "Random seed (default: random); each turn uses seed + turn number.")
    Long seed;

    /** The sampler chain configuration; throws MetagenException on out-of-range values. */
    SamplingConfig config(long s) {
        SamplingConfig c = new SamplingConfig()
                .temperature(temperature)
                .topK(topK)
                .topP(topP)
                .minP(minP)
                .typicalP(typicalP)
                .mirostat(mirostat, mirostatTau, mirostatEta)
                .dry(dryMultiplier, 1.75, 2, -1)
                .penalties(repeatPenalty, frequencyPenalty, presencePenalty, repeatLastN)
                .logitBias(GenerateCommand.parseLogitBias(logitBias))
                .stopTokens(new HashSet<>())
                .seed(s);
        if (samplers != null) {
            c.samplers(samplers);
        }
        return c;
    }
}
