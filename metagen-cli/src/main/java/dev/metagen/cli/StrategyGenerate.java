package dev.metagen.cli;

import dev.metagen.client.RemoteGenerator;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.LanguageModel;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelRegistry;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code metagen generate --strategy FILE_OR_JSON}: runs a meta-generation strategy spec over the loaded model and
 * prints the chosen text, or with {@code --json} one object with the generation, its {@code cost} and its {@code trace}.
 */
final class StrategyGenerate {
    private StrategyGenerate() {
    }

    static int run(CommandSpec spec, ModelOption models, String strategy, String prompt, GenerationParams commandLine,
                   SamplingOptions sampling, ModelLoader loader, boolean json, boolean echo, Sandbox.Limits sandboxLimits,
                   dev.metagen.meta.tools.HttpTool.Policy httpTools, Path traceHtml) {
        try {
            java.util.Set<String> names = new java.util.HashSet<>(models.named().keySet());
            names.add(ModelRegistry.DEFAULT);
            // a bad spec (or a model the run does not name) is a usage error, found before loading the model
            LeafGenerators.validator(sandboxLimits, names, ModelRegistry.remoteNames(models.others()), httpTools).parse(strategy);
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), "--strategy " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (LanguageModel m = loader.load(models.model());
             ModelRegistry registry = ModelRegistry.of(m, models.others(), loader::load, RemoteGenerator::forReference)) {
            // the strategy's leaves inherit every parameter of the command line (sampling, constraint, guidance),
            // with the default model's generation defaults in the sampler flags not given
            GenerationParams params = sampling.withModelDefaults(commandLine, m);
            if (!json) {
                sampling.printModelDefaults(m, spec.commandLine().getErr());
            }
            StrategySpecs.Strategy s = new StrategySpecs(new LeafGenerators(registry, false), sandboxLimits, httpTools).parse(strategy);
            Cancellation cancel = new Cancellation();
            Generation g = s.generate(Prompt.of(prompt), params, cancel);
            if (traceHtml != null) {
                TraceHtml.write(traceHtml, m, prompt, g, s.type(), strategy, s.budget());
            }
            if (json) {
                Map<String, Object> o = toJson(g, m.info().name(), params.seed(), s.type());
                o.put("backend", ModelLoader.Backend.of(m).flag());
                Map<String, Object> applied = sampling.modelDefaultsApplied(m);
                if (!applied.isEmpty()) {
                    o.put("generation_defaults", applied);
                }
                out.println(Json.write(o));
            } else {
                out.println(echo ? prompt + g.text() : g.text());
                spec.commandLine().getErr().printf("[strategy %s: %d prompt tokens, %d generated, %d model calls, %d tool calls, %d ms; finish: %s]%n",
                        s.type(), g.cost().promptTokens(), g.cost().generatedTokens(), g.cost().modelCalls(),
                        g.cost().toolCalls(), g.cost().wall().toMillis(), g.finish().apiName());
            }
        }
        return 0;
    }

    static Map<String, Object> toJson(Generation g, String modelName, long seed, String strategy) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", modelName);
        o.put("strategy", strategy);
        o.put("text", g.text());
        o.put("tokens", g.tokens());
        o.put("finish_reason", g.finish().apiName());
        o.put("logprobs", g.logprobs());
        if (g.trace().containsKey("top_logprobs")) { // --logprobs K: the chosen candidate's top alternatives
            o.put("top_logprobs", g.trace().get("top_logprobs"));
        }
        o.put("seed", seed);
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", g.cost().promptTokens());
        usage.put("completion_tokens", g.cost().generatedTokens());
        usage.put("total_tokens", g.cost().totalTokens());
        o.put("usage", usage);
        Map<String, Object> cost = new LinkedHashMap<>();
        cost.put("prompt_tokens", g.cost().promptTokens());
        cost.put("generated_tokens", g.cost().generatedTokens());
        cost.put("model_calls", g.cost().modelCalls());
        cost.put("tool_calls", g.cost().toolCalls());
        cost.put("wall_ms", g.cost().wall().toNanos() / 1e6);
        o.put("cost", cost);
        // the strategy's wall time stands in for the timings of one decoding run
        Map<String, Object> timings = new LinkedHashMap<>();
        double seconds = g.cost().wall().toNanos() / 1e9;
        timings.put("wall_ms", g.cost().wall().toNanos() / 1e6);
        timings.put("prefill_tokens_per_s", seconds == 0 ? 0.0 : g.cost().promptTokens() / seconds);
        timings.put("decode_tokens_per_s", seconds == 0 ? 0.0 : g.cost().generatedTokens() / seconds);
        o.put("timings", timings);
        o.put("trace", g.trace());
        return o;
    }
}
