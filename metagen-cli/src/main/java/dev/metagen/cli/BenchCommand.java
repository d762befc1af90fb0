package dev.metagen.cli;

import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.core.LanguageModel;
import dev.metagen.llamacpp.LlamaCppModel;
import dev.metagen.runtime.ModelLoader;
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

    @Mixin
    BackendOption backend;

    @Option(names = "--prompt-tokens", defaultValue = "64", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "32", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
    int genTokens;

    @Mixin
    ThreadsOption threadsOption;

    int threads; // --threads, checked

    @Option(names = "--repetitions", defaultValue = "3", description = "Measured runs after one warm-up run (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    // --- token-mask benchmark of metagen-control: --constraint, --vocab, --mask-steps, --mask-runs, --limit ---
    @Mixin
    ConstraintBenchOptions constraintBench;

    @Option(names = "--vs-llamacpp", description = "Also measure llama.cpp (node-llama-cpp) on the same file and threads, alternating runs.")
    boolean vsLlamaCpp;

    // efficient generation (issue #6): batched decoding, prefix cache and speculative decoding
    @Option(names = "--batch", defaultValue = "0", paramLabel = "N", description = "Also decode N sequences sharing the prompt in batched steps: aggregate tokens/s vs single-sequence decode, prompt tokens processed, and time-to-first-token with and without a prefix-cache hit.")
    int batch;

    @Option(names = "--speculative", description = "Also compare greedy speculative decoding (--draft GGUF or --lookup) with plain greedy decode: acceptance rate, speed-up, and the cost of verifying --verify-k tokens vs one decode step.")
    boolean speculativeBench;

    @Option(names = "--verify-k", defaultValue = "8", description = "With --speculative: drafted tokens verified in one forward (default: ${DEFAULT-VALUE}).")
    int verifyK;

    @Mixin
    SpeculativeOptions speculative;

    @Option(names = "--llamacpp-dir", paramLabel = "DIR", description = "Where evaluate.mjs and its node_modules are (default: test-support/llamacpp of this checkout).")
    Path llamaCppDir;

    @Override
    public Integer call() {
        if (promptTokens < 1 || genTokens < 1 || repetitions < 1) {
            throw new ParameterException(spec.commandLine(), "--prompt-tokens, --gen-tokens and --repetitions must be >= 1");
        }
        threads = threadsOption.threads(spec);
        if (batch < 0 || batch > 1024) {
            throw new ParameterException(spec.commandLine(), "--batch must be in [0, 1024], got " + batch);
        }
        if (speculativeBench != speculative.enabled()) {
            throw new ParameterException(spec.commandLine(), speculativeBench
                    ? "--speculative needs a draft: --draft GGUF or --lookup" : "--draft and --lookup need --speculative in bench");
        }
        if (verifyK < 1 || verifyK > 64) {
            throw new ParameterException(spec.commandLine(), "--verify-k must be in [1, 64], got " + verifyK);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (constraintBench.active() && spec.commandLine().getParseResult().hasMatchedOption("--backend")) {
            throw new ParameterException(spec.commandLine(), "--backend: the token-mask benchmark (--constraint) runs no model, only its tokenizer");
        }
        if (constraintBench.active()) {
            return constraintBench.run(model, out, err, json);
        }
        backend.refuseEngineOnly(spec, model, "--speculative", "--draft", "--lookup");
        int ctx = promptTokens + Math.max(genTokens, verifyK) + 1;
        // llama.cpp's context is the cells of all sequences together: the prompt once and each batched sequence's tail
        int llamaCtx = promptTokens + Math.max(1, batch) * (Math.max(genTokens, verifyK) + 1);
        ModelLoader loader = backend.loader(spec, new ModelOptions(threads, backend.defaultOnLlamaCpp(spec, model) ? llamaCtx : ctx));
        String ref = model.single();
        Path file = loader.file(ref);
        try (LanguageModel m = loader.backendOf(ref) == ModelLoader.Backend.LLAMACPP ? loader.load(ref) : load(file, ctx);
             LlamaCppPeer peer = vsLlamaCpp ? LlamaCppPeer.start(llamaCppDir) : null) {
            int usedThreads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
            int vocab = m.info().vocabSize();
            int[] prompt = new SplittableRandom(1).ints(promptTokens, 0, vocab).toArray();
            double[] prefill = new double[repetitions];
            double[] decode = new double[repetitions];
            double[] peerPrefill = new double[repetitions];
            double[] peerDecode = new double[repetitions];
            double peerBatch = 0;
            Map<String, Object> peerRequest = new LinkedHashMap<>(Map.of("op", "bench", "model", file.toAbsolutePath().toString(),
                    "prompt", promptTokens, "gen", genTokens, "threads", usedThreads, "repetitions", 1));
            if (m instanceof LlamaCppModel) {
                // the same library with the same settings as the backend (F32 KV cache, no flash attention), so the
                // ratio is the binding's overhead alone
                peerRequest.put("kvCacheType", "F32");
                peerRequest.put("flashAttention", false);
            }
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
            o.put("backend", ModelLoader.Backend.of(m).flag());
            if (batch > 0) {
                o.putAll(m instanceof LlamaCppModel l
                        ? EfficiencyBench.batch(l, prompt, genTokens, batch, repetitions, median(decode), err)
                        : EfficiencyBench.batch((TransformerModel) m, prompt, genTokens, batch, repetitions, median(decode), err));
                if (peer != null) {
                    Map<String, Object> req = new LinkedHashMap<>(peerRequest);
                    req.put("op", "bench_batch");
                    req.put("n", batch);
                    double[] runs = new double[repetitions];
                    peer.request(req); // warm-up: the batched shapes
                    for (int r = 0; r < repetitions; r++) {
                        runs[r] = peer.request(req).get("batch_decode_tokens_per_s").asDouble();
                        err.printf("llama.cpp batch run %d/%d: %d sequences, aggregate decode %.2f tokens/s%n", r + 1,
                                repetitions, batch, runs[r]);
                    }
                    peerBatch = median(runs);
                }
            }
            if (m instanceof LlamaCppModel l) {
                o.put("llamacpp_profile", EfficiencyBench.llamaCppProfile(l, prompt, genTokens));
            }
            if (speculativeBench) {
                o.put("speculative", EfficiencyBench.speculative((TransformerModel) m, prompt, genTokens, verifyK, repetitions, speculative,
                        new ModelOptions(threads, ctx), err));
            }
            if (peer != null) {
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("engine", "llama.cpp via node-llama-cpp");
                l.put("prefill_tokens_per_s", median(peerPrefill));
                l.put("decode_tokens_per_s", median(peerDecode));
                l.put("prefill_runs", peerPrefill);
                l.put("decode_runs", peerDecode);
                if (peerBatch > 0) {
                    l.put("batch_decode_tokens_per_s", peerBatch);
                }
                l.put("settings", m instanceof LlamaCppModel ? "F32 KV cache, no flash attention (as the backend)"
                        : "llama.cpp's defaults (F16 KV cache, flash attention auto)");
                o.put("llamacpp", l);
                o.put("prefill_ratio", median(prefill) / median(peerPrefill));
                o.put("decode_ratio", median(decode) / median(peerDecode));
                if (peerBatch > 0) {
                    o.put("batch_ratio", (double) o.get("batch_decode_tokens_per_s") / peerBatch);
                }
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
                if (batch > 0) {
                    out.printf("batch %d: prompt computed once (%s prompt tokens processed, %d if independent); aggregate decode %.2f tokens/s = %.2fx single-sequence decode%n",
                            batch, o.get("batch_prompt_tokens_processed"), (long) batch * promptTokens,
                            (double) o.get("batch_decode_tokens_per_s"), (double) o.get("batch_speedup"));
                    if (o.containsKey("ttft_cached_ms")) {
                        out.printf("prefix cache: time to first token %.2f ms cold, %.2f ms on a repeated prompt (%.1fx)%n",
                                (double) o.get("ttft_cold_ms"), (double) o.get("ttft_cached_ms"), (double) o.get("ttft_speedup"));
                    }
                }
                if (speculativeBench) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> sp = (Map<String, Object>) o.get("speculative");
                    out.printf("speculative (%s, k=%s): acceptance %.2f, %.2f tokens per target forward, decode %.2f vs %.2f tokens/s plain = %.2fx, identical output: %s%n",
                            sp.get("draft"), sp.get("draft_k"), (double) sp.get("acceptance_rate"),
                            (double) sp.get("tokens_per_target_forward"), (double) sp.get("speculative_decode_tokens_per_s"),
                            (double) sp.get("plain_decode_tokens_per_s"), (double) sp.get("speedup"), sp.get("identical_output"));
                    out.printf("verifying %s tokens in one forward: %.2f ms = %.2fx one decode step (%.2f ms)%n",
                            sp.get("verify_k"), (double) sp.get("verify_ms"), (double) sp.get("verify_cost_ratio"),
                            (double) sp.get("decode_step_ms"));
                }
                if (o.get("llamacpp_profile") instanceof Map<?, ?> prof && prof.get("sampled") instanceof Map<?, ?> sp
                        && prof.get("greedy") instanceof Map<?, ?> gr) {
                    out.printf("per token: greedy %.3f ms (%.3f in llama_decode, %.3f copying logits, %.3f other); sampled %.3f ms (%.3f in llama_decode, %.3f copying logits, %.3f sampling and bookkeeping)%n",
                            gr.get("ms_per_token"), gr.get("llama_decode_ms_per_token"), gr.get("logits_copy_ms_per_token"), gr.get("other_ms_per_token"),
                            sp.get("ms_per_token"), sp.get("llama_decode_ms_per_token"), sp.get("logits_copy_ms_per_token"), sp.get("other_ms_per_token"));
                    out.printf("CPU of the calling thread per token: greedy %.3f ms (%.3f in llama_decode, %.3f outside), sampled %.3f ms (%.3f in llama_decode, %.3f outside)%n",
                            gr.get("cpu_ms_per_token"), gr.get("llama_decode_cpu_ms_per_token"), gr.get("other_cpu_ms_per_token"),
                            sp.get("cpu_ms_per_token"), sp.get("llama_decode_cpu_ms_per_token"), sp.get("other_cpu_ms_per_token"));
                }
                if (peer != null && peerBatch > 0) {
                    out.printf("llama.cpp batch %d: aggregate decode %.2f tokens/s; metagen/llama.cpp = %.2fx%n", batch, peerBatch,
                            (double) o.get("batch_ratio"));
                }
                if (peer != null) {
                    out.printf("llama.cpp: prefill %.2f tokens/s, decode %.2f tokens/s (medians); metagen/llama.cpp = %.2fx prefill, %.2fx decode%n",
                            median(peerPrefill), median(peerDecode), median(prefill) / median(peerPrefill),
                            median(decode) / median(peerDecode));
                }
            }
        }
        return 0;
    }

    /** Loads the model with a KV budget big enough for the {@code --batch} sequences. */
    private TransformerModel load(Path file, int ctx) {
        TransformerModel m = TransformerModel.load(file, new ModelOptions(threads, ctx));
        int block = m.kvStats().blockSize();
        long needed = 2L * ((promptTokens + block - 1) / block + (long) Math.max(1, batch) * ((genTokens + block - 1) / block + 1));
        if (m.kvStats().maxBlocks() >= needed) {
            return m;
        }
        long bytes = needed * m.kvStats().blockBytes();
        m.close();
        return TransformerModel.load(file, new ModelOptions(threads, ctx, bytes, true));
    }

    /** One run: prefill of the prompt, then greedy decode of {@code genTokens} tokens; returns both rates. */
    private double[] run(LanguageModel m, int[] prompt) {
        if (m instanceof TransformerModel t) {
            t.clearPrefixCache(); // every run computes its prompt: no hit from the previous one
        }
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

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
