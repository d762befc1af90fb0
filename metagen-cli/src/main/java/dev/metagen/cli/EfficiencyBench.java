package dev.metagen.cli;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.llamacpp.LlamaCppModel;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The efficient-generation measurements of {@code metagen bench}, each a ratio against a baseline run in the same
 * process: batched decoding of N sequences sharing a prompt versus single-sequence decode, time to first token with
 * and without a prefix-cache hit, and speculative decoding versus plain greedy decode.
 */
final class EfficiencyBench {
    private EfficiencyBench() {
    }

    /**
     * {@code --batch N}: the prompt is computed once, forked N times, and {@code gen} steps each advance all N
     * states in one forward (random next tokens: the cost of a step does not depend on which tokens are fed).
     */
    static Map<String, Object> batch(TransformerModel m, int[] prompt, int gen, int n, int repetitions,
                                     double singleDecode, PrintWriter err) {
        int vocab = m.info().vocabSize();
        SplittableRandom rnd = new SplittableRandom(7);
        double[] aggregate = new double[repetitions];
        double[] cold = new double[repetitions];
        double[] cached = new double[repetitions];
        long promptRows = 0;
        for (int r = -1; r < repetitions; r++) { // r = -1: a short warm-up of the batched shapes
            m.clearPrefixCache();
            long rows0 = m.rowsComputed();
            List<ModelState> states = new ArrayList<>();
            int[] shared = r < 0 ? Arrays.copyOf(prompt, Math.min(prompt.length, 8)) : prompt;
            double c;
            try (ModelState root = m.newState()) {
                // time to first token, cold: the shared prompt is computed once, then forked N times
                long p0 = System.nanoTime();
                m.forward(root, shared);
                c = (System.nanoTime() - p0) / 1e6;
                for (int i = 0; i < n; i++) {
                    states.add(root.fork());
                }
            }
            promptRows = m.rowsComputed() - rows0;
            long t0 = System.nanoTime();
            for (int step = 0; step < (r < 0 ? Math.min(gen, 3) : gen); step++) {
                List<int[]> next = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    next.add(new int[]{rnd.nextInt(vocab)});
                }
                m.forward(states, next);
            }
            long t1 = System.nanoTime();
            states.forEach(ModelState::close);
            // time to first token again: the prompt's full blocks are now in the prefix cache
            double w = ttft(m, shared);
            if (r >= 0) {
                aggregate[r] = (double) n * gen / ((t1 - t0) / 1e9);
                cold[r] = c;
                cached[r] = w;
                err.printf("batch run %d/%d: %d sequences, aggregate decode %.2f tokens/s; TTFT %.2f ms cold, %.2f ms cached%n",
                        r + 1, repetitions, n, aggregate[r], c, w);
            }
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("batch", n);
        o.put("batch_prompt_tokens_processed", promptRows);
        o.put("batch_decode_tokens_per_s", BenchCommand.median(aggregate));
        o.put("batch_speedup", BenchCommand.median(aggregate) / singleDecode);
        o.put("batch_runs", aggregate);
        o.put("ttft_cold_ms", BenchCommand.median(cold));
        o.put("ttft_cached_ms", BenchCommand.median(cached));
        o.put("ttft_speedup", BenchCommand.median(cold) / BenchCommand.median(cached));
        o.put("prefix_cache", m.kvStats());
        return o;
    }

    /**
     * {@code --batch N} on llama.cpp: the prompt is computed once in one sequence and copied to N sequences
     * ({@code llama_memory_seq_cp} shares its cells), then {@code gen} steps each advance all N in one
     * {@code llama_decode}. There is no prefix cache, so no cached time to first token.
     */
    static Map<String, Object> batch(LlamaCppModel m, int[] prompt, int gen, int n, int repetitions,
                                     double singleDecode, PrintWriter err) {
        int vocab = m.info().vocabSize();
        SplittableRandom rnd = new SplittableRandom(7);
        double[] aggregate = new double[repetitions];
        double[] cold = new double[repetitions];
        long promptTokens = 0;
        for (int r = -1; r < repetitions; r++) { // r = -1: a short warm-up of the batched shapes
            List<ModelState> states = new ArrayList<>();
            int[] shared = r < 0 ? Arrays.copyOf(prompt, Math.min(prompt.length, 8)) : prompt;
            long decoded0 = m.stats().tokensDecoded();
            double c;
            try (ModelState root = m.newState()) {
                long p0 = System.nanoTime();
                m.forward(root, shared);
                c = (System.nanoTime() - p0) / 1e6;
                for (int i = 0; i < n; i++) {
                    states.add(root.fork());
                }
            }
            promptTokens = m.stats().tokensDecoded() - decoded0;
            long t0 = System.nanoTime();
            try {
                for (int step = 0; step < (r < 0 ? Math.min(gen, 3) : gen); step++) {
                    List<int[]> next = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        next.add(new int[]{rnd.nextInt(vocab)});
                    }
                    m.forward(states, next);
                }
            } finally {
                states.forEach(ModelState::close);
            }
            long t1 = System.nanoTime();
            if (r >= 0) {
                aggregate[r] = (double) n * gen / ((t1 - t0) / 1e9);
                cold[r] = c;
                err.printf("batch run %d/%d: %d sequences, aggregate decode %.2f tokens/s; TTFT %.2f ms%n",
                        r + 1, repetitions, n, aggregate[r], c);
            }
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("batch", n);
        o.put("batch_prompt_tokens_processed", promptTokens);
        o.put("batch_decode_tokens_per_s", BenchCommand.median(aggregate));
        o.put("batch_speedup", BenchCommand.median(aggregate) / singleDecode);
        o.put("batch_runs", aggregate);
        o.put("ttft_cold_ms", BenchCommand.median(cold));
        return o;
    }

    /**
     * Where a generated token's time goes on llama.cpp: a greedy decode loop (the bench's own) and a sampled
     * generation through the decode loop every front end uses (temperature, top-k, top-p, streaming detokenizer),
     * each split into the time inside {@code llama_decode}, the copy of the logits into Java, and the rest
     * (sampling, bookkeeping, the foreign calls' own cost).
     */
    static Map<String, Object> llamaCppProfile(LlamaCppModel m, int[] prompt, int gen) {
        Map<String, Object> o = new LinkedHashMap<>();
        try (ModelState s = m.newState()) {
            Logits l = m.forward(s, prompt);
            LlamaCppModel.Stats a = m.stats();
            long c0 = CPU.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            for (int i = 0; i < gen; i++) {
                l = m.forward(s, l.argmax());
            }
            long wall = System.nanoTime() - t0;
            o.put("greedy", split(wall, CPU.getCurrentThreadCpuTime() - c0, a, m.stats(), gen));
        }
        GenerationParams p = new GenerationParams(gen, 0.8, 40, 0.95, 1, true, List.of());
        SamplingGenerator g = new SamplingGenerator(m);
        for (int w = 0; w < 3; w++) {
            g.generate(prompt, p.withSeed(2 + w), t -> { }); // warm-up: JIT compilation of the sampler chain
        }
        LlamaCppModel.Stats a = m.stats();
        long c0 = CPU.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        Generation out = g.generate(prompt, p, t -> { });
        long wall = System.nanoTime() - t0;
        long cpu = CPU.getCurrentThreadCpuTime() - c0;
        LlamaCppModel.Stats b = m.stats();
        // the prompt's decode is part of the call: count its llama_decode time out with the rest of llama.cpp's
        Map<String, Object> sampled = split(wall, cpu, a, b, Math.max(1, out.tokens().length));
        sampled.put("tokens", out.tokens().length);
        sampled.put("includes_prompt_of", prompt.length);
        o.put("sampled", sampled);
        return o;
    }

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    /**
     * Wall-clock split of {@code wall}, and the calling thread's CPU time {@code cpu} split into llama_decode's part
     * and the rest (with one llama.cpp thread all of llama.cpp's work is on the calling thread, so the CPU split is
     * exact and does not depend on how busy the machine is; with more, llama_decode's CPU share is a lower bound).
     */
    private static Map<String, Object> split(long wall, long cpu, LlamaCppModel.Stats a, LlamaCppModel.Stats b, int tokens) {
        double decode = (b.decodeNanos() - a.decodeNanos()) / 1e6;
        double decodeCpu = (b.decodeCpuNanos() - a.decodeCpuNanos()) / 1e6;
        double logits = (b.logitsNanos() - a.logitsNanos()) / 1e6;
        double total = wall / 1e6;
        double totalCpu = cpu / 1e6;
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("ms_per_token", total / tokens);
        o.put("llama_decode_ms_per_token", decode / tokens);
        o.put("logits_copy_ms_per_token", logits / tokens);
        o.put("other_ms_per_token", (total - decode - logits) / tokens);
        o.put("outside_llama_decode_share", (total - decode) / total);
        o.put("cpu_ms_per_token", totalCpu / tokens);
        o.put("llama_decode_cpu_ms_per_token", decodeCpu / tokens);
        o.put("other_cpu_ms_per_token", (totalCpu - decodeCpu) / tokens);
        o.put("outside_llama_decode_cpu_share", (totalCpu - decodeCpu) / totalCpu);
        return o;
    }

    private static double ttft(TransformerModel m, int[] prompt) {
        try (ModelState s = m.newState()) {
            long t0 = System.nanoTime();
            m.forward(s, prompt);
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    /**
     * {@code --speculative}: greedy speculative decoding against plain greedy decode of the same prompt (their
     * tokens must agree), and the cost of verifying k tokens in one forward against one decode step.
     */
    static Map<String, Object> speculative(TransformerModel m, int[] prompt, int gen, int verifyK, int repetitions,
                                           SpeculativeOptions options, ModelOptions modelOptions, PrintWriter err) {
        GenerationParams params = new GenerationParams(gen, 0.0, 0, 1.0, 1, false, List.of());
        double[] plain = new double[repetitions];
        double[] spec = new double[repetitions];
        Generation lastPlain = null;
        Generation lastSpec = null;
        // decode rates exclude the prompt, so the prefix cache may serve it (it spares minutes on big models)
        for (int r = 0; r < repetitions; r++) {
            Generation p = new SamplingGenerator(m).generate(prompt, params, t -> {});
            Generation s = options.generate(m, prompt, params, SamplingConfig.greedy(),
                    ref -> TransformerModel.load(java.nio.file.Path.of(ref), modelOptions));
            if (r >= 0) {
                plain[r] = (double) p.trace().get("decode_tokens_per_s");
                spec[r] = (double) s.trace().get("decode_tokens_per_s");
                err.printf("speculative run %d/%d: plain %.2f tokens/s, speculative %.2f tokens/s (acceptance %.2f)%n",
                        r + 1, repetitions, plain[r], spec[r], (double) s.trace().get("acceptance_rate"));
            }
            lastPlain = p;
            lastSpec = s;
        }
        // verification cost: one forward of k tokens vs one of a single token, from the same prefix
        int[] draft = new SplittableRandom(3).ints(verifyK, 0, m.info().vocabSize()).toArray();
        double[] step = new double[Math.max(5, repetitions)];
        double[] verify = new double[step.length];
        try (ModelState s = m.newState()) {
            m.forward(s, prompt);
            for (int r = -2; r < step.length; r++) { // two warm-ups
                long t0 = System.nanoTime();
                m.forward(s, draft[0]);
                long t1 = System.nanoTime();
                s.truncate(prompt.length);
                List<Logits> all = m.forwardAll(s, draft);
                long t2 = System.nanoTime();
                s.truncate(prompt.length);
                if (r >= 0 && all.size() == verifyK) {
                    step[r] = (t1 - t0) / 1e6;
                    verify[r] = (t2 - t1) / 1e6;
                }
            }
        }
        Map<String, Object> o = new LinkedHashMap<>();
        for (String k : List.of("draft", "draft_k", "target_forwards", "drafted_tokens", "accepted_tokens",
                "acceptance_rate", "tokens_per_target_forward")) {
            o.put(k, lastSpec.trace().get(k));
        }
        o.put("plain_decode_tokens_per_s", BenchCommand.median(plain));
        o.put("speculative_decode_tokens_per_s", BenchCommand.median(spec));
        o.put("speedup", BenchCommand.median(spec) / BenchCommand.median(plain));
        o.put("identical_output", Arrays.equals(lastPlain.tokens(), lastSpec.tokens()));
        o.put("verify_k", verifyK);
        o.put("verify_ms", BenchCommand.median(verify));
        o.put("decode_step_ms", BenchCommand.median(step));
        o.put("verify_cost_ratio", BenchCommand.median(verify) / BenchCommand.median(step));
        return o;
    }
}
