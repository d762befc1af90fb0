package dev.metagen.cli;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code metagen generate}: continue a prompt with greedy decoding or sampling, streaming the text. */
@Command(name = "generate", description = "Generate a continuation of a prompt (streams text; --json prints one object).")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = {"-p", "--prompt"}, required = true, description = "The prompt text.")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", description = "Maximum tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Keep the k most likely tokens; 0 disables (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus sampling threshold in (0, 1]; 1 disables (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", description = "Random seed (default: random); the same seed gives the same output.")
    Long seed;

    @Option(names = "--stop", description = "Stop when this string is generated (repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads; 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--ctx", defaultValue = "0", description = "Context length; 0 = the model's, at most 4096 (default: ${DEFAULT-VALUE}).")
    int contextLength;

    @Option(names = "--no-bos", description = "Do not add BOS even if the model's metadata asks for it.")
    boolean noBos;

    @Option(names = "--echo", description = "Print the prompt before the continuation.")
    boolean echo;

    @Option(names = "--json", description = "Print one JSON object with text, tokens, finish_reason, usage and timings.")
    boolean json;

    @Override
    public Integer call() {
        if (maxTokens < 0) {
            throw new ParameterException(spec.commandLine(), "--max-tokens must be >= 0, got " + maxTokens);
        }
        if (threads < 0) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 0, got " + threads);
        }
        if (contextLength < 0) {
            throw new ParameterException(spec.commandLine(), "--ctx must be >= 0, got " + contextLength);
        }
        long s = seed != null ? seed : new java.security.SecureRandom().nextLong();
        GenerationParams params;
        try {
            params = new GenerationParams(maxTokens, temperature, topK, topP, s, !noBos, stop);
        } catch (dev.metagen.core.MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (TransformerModel m = TransformerModel.load(model.resolve(), new ModelOptions(threads, contextLength))) {
            SamplingGenerator gen = new SamplingGenerator(m);
            if (!json && echo) {
                out.print(prompt);
                out.flush();
            }
            Generation g = gen.generate(Prompt.of(prompt), params, json ? t -> {} : t -> {
                out.print(t);
                out.flush();
            });
            if (json) {
                out.println(Json.write(toJson(g, m.info().name(), s)));
            } else {
                out.println();
                spec.commandLine().getErr().printf("[%d prompt tokens, %.1f tokens/s prefill; %d generated, %.1f tokens/s decode; finish: %s]%n",
                        g.cost().promptTokens(), (double) g.trace().get("prefill_tokens_per_s"),
                        g.cost().generatedTokens(), (double) g.trace().get("decode_tokens_per_s"), g.finish().apiName());
            }
        }
        return 0;
    }

    static Map<String, Object> toJson(Generation g, String modelName, long seed) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", modelName);
        o.put("text", g.text());
        o.put("tokens", g.tokens());
        o.put("finish_reason", g.finish().apiName());
        o.put("logprobs", g.logprobs());
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
        return o;
    }
}
