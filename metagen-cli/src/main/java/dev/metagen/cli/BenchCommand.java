package dev.metagen.cli;

import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code metagen bench}: prefill and decode tokens/s of the engine, median and spread over repeated runs. */
@Command(name = "bench", description = "Measure prefill and decode tokens/s (median of repeated runs after a warm-up).")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--prompt-tokens", defaultValue = "64", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "32", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
    int genTokens;

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads; 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--repetitions", defaultValue = "3", description = "Measured runs after one warm-up run (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    // --- token-mask benchmark of metagen-control: --constraint, --vocab, --mask-steps, --mask-runs, --limit ---
    @Mixin
    ConstraintBenchOptions constraintBench;

    @Option(names = "--vs-llamacpp", description = "Also measure llama.cpp (node-llama-cpp) on the same file and threads, alternating runs.")
    boolean vsLlamaCpp;

    @Option(names = "--llamacpp-dir", paramLabel = "DIR", description = "Where evaluate.mjs and its node_modules are (default: test-support/llamacpp of this checkout).")
    Path llamaCppDir;

    @Override
    public Integer call() {
        if (promptTokens < 1 || genTokens < 1 || repetitions < 1 || threads < 0) {
            throw new ParameterException(spec.commandLine(), "--prompt-tokens, --gen-tokens and --repetitions must be >= 1, --threads >= 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (constraintBench.active()) {
            return constraintBench.run(model, out, err, json);
        }
        int ctx = promptTokens + genTokens + 1;
        Path file = model.resolve();
        try (TransformerModel m = TransformerModel.load(file, new ModelOptions(threads, ctx));
             LlamaCppPeer peer = vsLlamaCpp ? LlamaCppPeer.start(llamaCppDir) : null) {
            int usedThreads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
            int vocab = m.info().vocabSize();
            int[] prompt = new SplittableRandom(1).ints(promptTokens, 0, vocab).toArray();
            double[] prefill = new double[repetitions];
            double[] decode = new double[repetitions];
            double[] peerPrefill = new double[repetitions];
            double[] peerDecode = new double[repetitions];
            Map<String, Object> peerRequest = Map.of("op", "bench", "model", file.toAbsolutePath().toString(),
                    "prompt", promptTokens, "gen", genTokens, "threads", usedThreads, "repetitions", 1);
            run(m, prompt); // warm-up: JIT compilation of the kernels
            if (peer != null) {
                peer.request(peerRequest); // warm-up: loading and page cache
            }
            for (int r = 0; r < repetitions; r++) {
                double[] t = run(m, prompt);
                prefill[r] = t[0];
                decode[r] = t[1];
                err.printf("run %d/%d: metagen prefill %.2f tokens/s, decode %.2f tokens/s%n", r + 1, repetitions, t[0], t[1]);
                if (peer != null) {
                    JsonNode p = peer.request(peerRequest);
                    peerPrefill[r] = p.get("prefill_tokens_per_s").asDouble();
                    peerDecode[r] = p.get("decode_tokens_per_s").asDouble();
                    err.printf("run %d/%d: llama.cpp prefill %.2f tokens/s, decode %.2f tokens/s%n", r + 1, repetitions,
                            peerPrefill[r], peerDecode[r]);
                }
            }
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", m.info().name());
            o.put("architecture", m.info().architecture());
            o.put("tensor_type", m.info().tensorType());
            o.put("parameters", m.info().parameters());
            o.put("prompt_tokens", promptTokens);
            o.put("gen_tokens", genTokens);
            o.put("threads", usedThreads);
            o.put("cores", Runtime.getRuntime().availableProcessors());
            o.put("java", Runtime.version().toString());
            o.put("prefill_tokens_per_s", median(prefill));
            o.put("decode_tokens_per_s", median(decode));
            o.put("prefill_runs", prefill);
            o.put("decode_runs", decode);
            // after the runs, when every weight has been touched; after a full GC, so the heap figure is live data
            System.gc();
            ResidentMemory mem = ResidentMemory.now();
            o.put("model_file_bytes", fileSize(file));
            o.put("resident_bytes", mem.residentBytes());
            o.put("resident_file_bytes", mem.residentFileBytes());
            o.put("resident_anon_bytes", mem.residentAnonBytes());
            o.put("heap_used_bytes", mem.heapUsedBytes());
            if (peer != null) {
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("engine", "llama.cpp via node-llama-cpp");
                l.put("prefill_tokens_per_s", median(peerPrefill));
                l.put("decode_tokens_per_s", median(peerDecode));
                l.put("prefill_runs", peerPrefill);
                l.put("decode_runs", peerDecode);
                o.put("llamacpp", l);
                o.put("prefill_ratio", median(prefill) / median(peerPrefill));
                o.put("decode_ratio", median(decode) / median(peerDecode));
            }
            if (json) {
                out.println(Json.write(o));
            } else {
                out.printf("%s (%s, %s, %,d parameters), %d threads on %d cores%n", m.info().name(), m.info().architecture(),
                        m.info().tensorType(), m.info().parameters(), usedThreads, Runtime.getRuntime().availableProcessors());
                out.printf("prefill %d tokens: %.2f tokens/s (median of %d, range %.2f-%.2f)%n", promptTokens, median(prefill),
                        repetitions, Arrays.stream(prefill).min().orElse(0), Arrays.stream(prefill).max().orElse(0));
                out.printf("decode  %d tokens: %.2f tokens/s (median of %d, range %.2f-%.2f)%n", genTokens, median(decode),
                        repetitions, Arrays.stream(decode).min().orElse(0), Arrays.stream(decode).max().orElse(0));
                out.printf("memory: %s resident (%s file-backed, i.e. the mapped weights; %s anonymous), %s heap in use, model file %s%n",
                        mib(mem.residentBytes()), mib(mem.residentFileBytes()), mib(mem.residentAnonBytes()),
                        mib(mem.heapUsedBytes()), mib(fileSize(file)));
                if (peer != null) {
                    out.printf("llama.cpp: prefill %.2f tokens/s, decode %.2f tokens/s (medians); metagen/llama.cpp = %.2fx prefill, %.2fx decode%n",
                            median(peerPrefill), median(peerDecode), median(prefill) / median(peerPrefill),
                            median(decode) / median(peerDecode));
                }
            }
        }
        return 0;
    }

    /** One run: prefill of the prompt, then greedy decode of {@code genTokens} tokens; returns both rates. */
    private double[] run(TransformerModel m, int[] prompt) {
        try (ModelState s = m.newState()) {
            long t0 = System.nanoTime();
            Logits l = m.forward(s, prompt);
            long t1 = System.nanoTime();
            for (int i = 0; i < genTokens; i++) {
                l = m.forward(s, l.argmax());
            }
            long t2 = System.nanoTime();
            return new double[] {prompt.length / ((t1 - t0) / 1e9), genTokens / ((t2 - t1) / 1e9)};
        }
    }

    private static long fileSize(Path file) {
        try {
            return java.nio.file.Files.size(file);
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format("%.1f MiB", bytes / 1048576.0);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
