package dev.metagen.cli;

import dev.metagen.engine.quantize.GreedyAgreement;
import dev.metagen.engine.quantize.Quantizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code metagen quantize}: an F32/F16/BF16 GGUF to a quantized one (llama.cpp's llama-quantize), with a greedy check. */
@Command(name = "quantize", description = "Quantize an F32/F16/BF16 GGUF and check greedy agreement with the source.")
final class QuantizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN.gguf", description = "Source model (F32, F16 or BF16 tensors).")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT.gguf", description = "Quantized model to write.")
    Path output;

    @Option(names = "--type", required = true,
            description = "F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K (every 2-D weight) or the mixes Q4_K_M, Q5_K_M.")
    String type;

    @Option(names = "--force", description = "Overwrite the output file if it exists.")
    boolean force;

    @Option(names = "--check-tokens", defaultValue = "32", paramLabel = "N",
            description = "Greedy tokens from BOS decoded with both files to compare (0 disables; default: ${DEFAULT-VALUE}).")
    int checkTokens;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads for the check (0 = all processors).")
    int threads;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() {
        if (checkTokens < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--check-tokens must be >= 0, got " + checkTokens);
        }
        ThreadsOption.check(spec, threads);
        Quantizer.Result r = Quantizer.quantize(input, output, type, force);
        GreedyAgreement g = checkTokens == 0 ? null : GreedyAgreement.measure(input, output, checkTokens, threads);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Integer> types = new TreeMap<>();
        r.typeCounts().forEach((t, n) -> types.put(t.name(), n));
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("input", r.input().toString());
            o.put("output", r.output().toString());
            o.put("type", r.target());
            o.put("input_bytes", r.inputBytes());
            o.put("output_bytes", r.outputBytes());
            o.put("tensors", r.tensors());
            o.put("tensor_types", types);
            o.put("seconds", r.seconds());
            if (g != null) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("tokens", g.steps());
                c.put("agreeing", g.agreeing());
                c.put("top", GreedyAgreement.TOP);
                c.put("max_prob_diff", g.maxTopProbDiff());
                o.put("check", c);
            }
            out.println(Json.write(o));
        } else {
            out.printf("wrote %s (%s): %,d -> %,d bytes (%.1f%%), %d tensors %s, in %.1f s%n", r.output(), r.target(),
                    r.inputBytes(), r.outputBytes(), 100.0 * r.outputBytes() / r.inputBytes(), r.tensors(), types,
                    r.seconds());
            if (g != null) {
                out.printf("greedy from BOS: %d of %d leading tokens agree with the source; max |dp| of the top-%d next-token probabilities %.4g%n",
                        g.agreeing(), g.steps(), GreedyAgreement.TOP, g.maxTopProbDiff());
            }
        }
        return 0;
    }
}
