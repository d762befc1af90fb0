package dev.metagen.cli;

import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.synth.SynthSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code metagen synth}: a GGUF with seeded random weights for tests and benchmarks without downloads. */
@Command(name = "synth", description = "Write a GGUF with seeded random weights of a supported architecture and shape.")
final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--preset", description = "Shape preset: ${COMPLETION-CANDIDATES}.", completionCandidates = Presets.class)
    String preset;

    @Option(names = "--arch", description = "Architecture when no preset is given: llama, qwen2, qwen3, gemma3, phi3.")
    String arch;

    @Option(names = "--type", defaultValue = "F32",
            description = "Tensor type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, or the mixes Q4_K_M, Q5_K_M (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tokenizer-from", paramLabel = "GGUF", description = "Copy the tokenizer of this GGUF (the vocabulary size follows it).")
    Path tokenizerFrom;

    @Option(names = "--layers", description = "Override the number of layers.")
    Integer layers;

    @Option(names = "--embd", description = "Override the embedding length.")
    Integer embd;

    @Option(names = "--heads", description = "Override the attention head count.")
    Integer heads;

    @Option(names = "--kv-heads", description = "Override the KV head count.")
    Integer kvHeads;

    @Option(names = "--head-dim", description = "Override the head dimension.")
    Integer headDim;

    @Option(names = "--ffn", description = "Override the feed-forward length.")
    Integer ffn;

    @Option(names = "--vocab", description = "Override the vocabulary size (built-in vocabulary only).")
    Integer vocab;

    @Option(names = "--context", description = "Override the context length.")
    Integer context;

    @Option(names = "--score-head", split = ",", paramLabel = "LABEL[,LABEL...]",
            description = "Add a score head (cls.output, rank pooling) with these output labels: a reward model or reranker.")
    java.util.List<String> scoreHead;

    @Option(names = "--logit-scale", description = "Target standard deviation of the final hidden state's projections"
            + " (default: 16 x sqrt(ln vocab / ln 512)); small values keep a score head's outputs unsaturated.")
    Double logitScale;

    @Option(names = "--sliding-window", description = "gemma3: override the sliding window (0 = all layers global).")
    Integer slidingWindow;

    @Option(names = "--final-logit-softcap", description = "gemma3: final logit softcapping (0 = none).")
    Float finalSoftcap;

    @Option(names = {"-o", "--output"}, required = true, description = "Output .gguf path.")
    Path output;

    @Option(names = "--force", description = "Overwrite the output file if it exists.")
    boolean force;

    @Override
    public Integer call() {
        if (preset == null && arch == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give --preset or --arch");
        }
        if (Files.exists(output) && !force) {
            throw new dev.metagen.core.MetagenException(output + " exists (use --force to overwrite)");
        }
        ModelSynthesizer.Builder b = ModelSynthesizer.builder().type(type).seed(seed);
        if (preset != null) {
            b.preset(preset);
        }
        if (arch != null) {
            b.architecture(arch);
        }
        if (tokenizerFrom != null) {
            b.tokenizerFrom(tokenizerFrom);
        }
        if (layers != null) {
            b.layers(layers);
        }
        if (embd != null) {
            b.embd(embd);
        }
        if (heads != null) {
            b.heads(heads);
        }
        if (kvHeads != null) {
            b.kvHeads(kvHeads);
        }
        if (headDim != null) {
            b.headDim(headDim);
        }
        if (ffn != null) {
            b.ffn(ffn);
        }
        if (vocab != null) {
            b.vocab(vocab);
        }
        if (context != null) {
            b.context(context);
        }
        if (scoreHead != null) {
            b.scoreHead(scoreHead);
        }
        if (logitScale != null) {
            b.logitScale(logitScale);
        }
        if (slidingWindow != null) {
            b.slidingWindow(slidingWindow);
        }
        if (finalSoftcap != null) {
            b.finalLogitSoftcap(finalSoftcap);
        }
        ModelSynthesizer synth = b.build();
        long t0 = System.nanoTime();
        synth.write(output);
        PrintWriter err = spec.commandLine().getErr();
        try {
            err.printf("wrote %s (%,d bytes, %d tensors) in %.1f s%n", output, Files.size(output),
                    synth.tensorShapes().size(), (System.nanoTime() - t0) / 1e9);
        } catch (java.io.IOException e) {
            throw new dev.metagen.core.MetagenException("cannot read back " + output + ": " + dev.metagen.core.MetagenException.describe(e));
        }
        return 0;
    }

    static final class Presets implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return SynthSpec.PRESETS.iterator();
        }
    }
}
