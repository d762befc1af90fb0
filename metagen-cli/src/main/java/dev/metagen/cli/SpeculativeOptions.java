package dev.metagen.cli;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.speculative.DraftModelSource;
import dev.metagen.decoding.speculative.DraftSource;
import dev.metagen.decoding.speculative.PromptLookupSource;
import dev.metagen.decoding.speculative.SpeculativeGenerator;
import dev.metagen.core.LanguageModel;
import java.util.function.Function;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.function.Supplier;

/** The speculative decoding options of {@code generate} (Leviathan et al. 2023): a draft model or prompt lookup. */
final class SpeculativeOptions {
    @Option(names = "--draft", paramLabel = "GGUF", description = "Speculative decoding with this draft model (same vocabulary).")
    Path draft;

    @Option(names = "--draft-k", defaultValue = "4", description = "Speculative decoding: tokens drafted per target forward (default: ${DEFAULT-VALUE}).")
    int draftK;

    @Option(names = "--lookup", description = "Speculative decoding with prompt lookup (n-gram matches in the prompt and output).")
    boolean lookup;

    @Option(names = "--lookup-ngram", defaultValue = "3", description = "Prompt lookup: longest n-gram to match (default: ${DEFAULT-VALUE}).")
    int lookupNgram;

    boolean enabled() {
        return draft != null || lookup;
    }

    /** Runs speculative decoding on {@code target} (no streaming: the text is printed when it is complete). */
    Generation generate(LanguageModel target, int[] promptIds, GenerationParams params, SamplingConfig sampling,
                        Function<String, LanguageModel> loader) {
        if (draft != null && lookup) {
            throw new MetagenException("give only one of --draft and --lookup");
        }
        if (draft == null) {
            PromptLookupSource check = new PromptLookupSource(lookupNgram); // validates the n-gram size first
            return run(new SpeculativeGenerator(target, () -> new PromptLookupSource(check.maxNgram()), draftK),
                    promptIds, params, sampling);
        }
        try (LanguageModel d = loader.apply(draft.toString())) {
            DraftModelSource probe = new DraftModelSource(d, 0);
            probe.checkVocabulary(target);
            long seed = sampling.seed() ^ 0x9E3779B97F4A7C15L; // the draft's own stream, apart from the target's
            Supplier<DraftSource> drafts = () -> new DraftModelSource(d, seed);
            return run(new SpeculativeGenerator(target, drafts, draftK), promptIds, params, sampling);
        }
    }

    private static Generation run(SpeculativeGenerator g, int[] promptIds, GenerationParams params, SamplingConfig sampling) {
        return g.generate(promptIds, params.withSampling(sampling)); // the caller prints the text
    }
}
