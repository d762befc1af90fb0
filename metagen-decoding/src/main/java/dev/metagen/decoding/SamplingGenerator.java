package dev.metagen.decoding;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.core.StreamingDecoder;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.sampling.Sampler;
import dev.metagen.decoding.sampling.SamplerChain;
import dev.metagen.decoding.sampling.SamplingConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Greedy decoding and ancestral sampling over a {@link LanguageModel}: the prompt is prefilled once, then each
 * step samples from the adapted next-token distribution (Welleck et al., 2024, section 2) until an
 * end-of-generation or stop token, a stop string, the token limit or the context length.
 */
public final class SamplingGenerator implements Generator {
    private final LanguageModel model;
    private final SamplingConfig config;
    private final int topLogprobs;
    private final List<Sampler> adapters;
    private final java.util.concurrent.locks.ReentrantLock adapterLock = new java.util.concurrent.locks.ReentrantLock();

    /** Samples with the temperature, top-k, top-p and seed of each call's {@link GenerationParams}. */
    public SamplingGenerator(LanguageModel model) {
        this(model, null, 0, List.of());
    }

    private SamplingGenerator(LanguageModel model, SamplingConfig config, int topLogprobs, List<Sampler> adapters) {
        this.model = model;
        this.config = config;
        this.topLogprobs = topLogprobs;
        this.adapters = List.copyOf(adapters);
    }

    /** Samples with {@code config} (its temperature, top-k, top-p and seed win over the params'). */
    public SamplingGenerator withSampling(SamplingConfig config) {
        return new SamplingGenerator(model, config, topLogprobs, adapters);
    }

    /** Also records the top {@code k} alternatives of each step (trace {@code top_logprobs}). */
    public SamplingGenerator withTopLogprobs(int k) {
        if (k < 0 || k > 1000) {
            throw new MetagenException("logprobs must be in [0, 1000], got " + k);
        }
        return new SamplingGenerator(model, config, k, adapters);
    }

    /** Puts {@code first} (e.g. guidance or contrastive decoding) at the head of every chain. */
    public SamplingGenerator withAdapters(List<Sampler> first) {
        return new SamplingGenerator(model, config, topLogprobs, first);
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        return generate(prompt, params, text -> {});
    }

    /** Generates, passing each piece of completed text to {@code onText} as soon as it is final. */
    public Generation generate(Prompt prompt, GenerationParams params, Consumer<String> onText) {
        Tokenizer tok = model.tokenizer();
        int[] promptIds = tok.encode(prompt.text(), params.addSpecial(), false);
        return generate(promptIds, params, onText);
    }

    /**
     * Generates from prompt token ids. Adapters that follow the sequence (guidance, contrastive decoding,
     * product of experts) keep per-generation state, so a generator that has them runs one generation at a time
     * even when parallel strategies call it from several threads.
     */
    public Generation generate(int[] promptIds, GenerationParams params, Consumer<String> onText) {
        if (adapters.isEmpty()) {
            return generateOnce(promptIds, params, onText);
        }
        adapterLock.lock();
        try {
            return generateOnce(promptIds, params, onText);
        } finally {
            adapterLock.unlock();
        }
    }

    private Generation generateOnce(int[] promptIds, GenerationParams params, Consumer<String> onText) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        Tokenizer tok = model.tokenizer();
        SamplingConfig cfg = config != null ? config : SamplingConfig.from(params);
        SamplerChain chain = SamplerChain.build(cfg, tok, adapters);
        StreamingDecoder decoder = tok.streamingDecoder();
        StopStrings stops = new StopStrings(params.stop());
        StringBuilder text = new StringBuilder();
        int[] history = Arrays.copyOf(promptIds, promptIds.length + params.maxTokens());
        int[] out = new int[params.maxTokens()];
        double[] logprobs = new double[out.length];
        List<Object> tops = new ArrayList<>();
        int n = 0;
        long calls = 0;
        FinishReason finish = FinishReason.LENGTH;
        long t0 = System.nanoTime();
        long prefillNanos;
        long decodeForwards = 0;
        try (ModelState state = model.newState();
             MemoryReservation kv = KvAdmission.reserve(state, promptIds.length, out.length)) {
            if (kv == null) {
                finish = FinishReason.CANCELLED; // interrupted while waiting for KV memory
            }
            Logits logits = null;
            if (out.length > 0 && kv != null) {
                chain.begin(promptIds);
                logits = model.forward(state, promptIds);
                calls++;
            }
            prefillNanos = System.nanoTime() - t0;
            while (kv != null && n < out.length) {
                int next = chain.sample(logits.values(), Arrays.copyOf(history, promptIds.length + n), n);
                if (tok.special().isEndOfGeneration(next) || cfg.stopTokens().contains(next)) {
                    finish = FinishReason.STOP;
                    break;
                }
                double[] lp = logits.logProbabilities();
                out[n] = next;
                logprobs[n] = lp[next];
                if (topLogprobs > 0) {
                    tops.add(TopLogprobs.of(lp, topLogprobs, tok));
                }
                history[promptIds.length + n] = next;
                n++;
                String piece = stops.accept(decoder.accept(next));
                text.append(piece);
                onText.accept(piece);
                if (stops.stopped()) {
                    finish = FinishReason.STOP;
                    break;
                }
                if (n == out.length) {
                    break;
                }
                if (state.length() >= ctx) {
                    break; // context full: finish as LENGTH
                }
                if (Thread.currentThread().isInterrupted()) {
                    // the caller (a meta-generator's cancellation or time budget) stops this generation; the
                    // flag stays set for the caller to see
                    finish = FinishReason.CANCELLED;
                    break;
                }
                logits = model.forward(state, next);
                calls++;
                decodeForwards++;
            }
        }
        if (!stops.stopped()) {
            String rest = stops.accept(decoder.flush()) + stops.flush();
            text.append(rest);
            onText.accept(rest);
        }
        long total = System.nanoTime() - t0;
        long decodeNanos = total - prefillNanos;
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("prefill_ms", prefillNanos / 1e6);
        trace.put("decode_ms", decodeNanos / 1e6);
        trace.put("prefill_tokens_per_s", rate(calls > 0 ? promptIds.length : 0, prefillNanos));
        trace.put("decode_tokens_per_s", rate(decodeForwards, decodeNanos));
        trace.put("prompt_ids", promptIds);
        trace.put("sampling", cfg.describe());
        if (topLogprobs > 0) {
            trace.put("top_logprobs", tops);
        }
        int[] tokens = Arrays.copyOf(out, n);
        Cost cost = new Cost(promptIds.length, n, calls, 0, Duration.ofNanos(total));
        return new Generation(text.toString(), tokens, Arrays.copyOf(logprobs, n), finish, cost, trace);
    }

    /**
     * Parallel sampling: {@code n} samples of one prompt, which is computed once; the samples are forks of its
     * state (sharing its KV blocks) and every step advances all unfinished samples in one batched forward. Sample
     * {@code i} draws with seed {@code seed + i}, so it equals {@link #generate(int[], GenerationParams, Consumer)}
     * with that seed (to float rounding of batched versus single-row products). Samples that do not all fit the
     * model's KV memory at once wait for it and run as memory frees up (see {@link Admission}).
     */
    public List<Generation> generateN(Prompt prompt, GenerationParams params, int n) {
        return generateN(model.tokenizer().encode(prompt.text(), params.addSpecial(), false), params, n);
    }

    /** {@link #generateN(Prompt, GenerationParams, int)} from prompt token ids. */
    public List<Generation> generateN(int[] promptIds, GenerationParams params, int n) {
        if (n < 1 || n > 4096) {
            throw new MetagenException("the number of parallel samples must be in [1, 4096], got " + n);
        }
        if (!adapters.isEmpty() && n > 1) {
            throw new MetagenException("parallel samples cannot share sequence-following adapters"
                    + " (guidance, contrastive decoding): generate them one at a time");
        }
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        if (params.maxTokens() == 0) {
            List<Generation> empty = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                empty.add(new Generation("", new int[0], new double[0], FinishReason.LENGTH,
                        new Cost(promptIds.length, 0, 0, 0, Duration.ZERO), Map.of("prompt_ids", promptIds)));
            }
            return empty;
        }
        Tokenizer tok = model.tokenizer();
        SamplingConfig base = config != null ? config : SamplingConfig.from(params);
        long t0 = System.nanoTime();
        List<Lane> lanes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            SamplingConfig cfg = base.copy().seed(base.seed() + i);
            lanes.add(new Lane(SamplerChain.build(cfg, tok, adapters), cfg, tok.streamingDecoder(),
                    new StopStrings(params.stop()), promptIds, params.maxTokens()));
        }
        Admission admission = new Admission(promptIds, params.maxTokens());
        long prefillNanos = 0;
        long steps = 0;
        try {
            int started = 0;
            while (!Thread.currentThread().isInterrupted()) {
                if (admission.root == null) {
                    Logits first = admission.openWave(); // null: interrupted while waiting
                    if (first == null) {
                        break;
                    }
                    if (started == 0) {
                        prefillNanos = System.nanoTime() - t0;
                    }
                    lanes.get(started++).start(admission.root.fork(), first);
                }
                for (ModelState fork; started < n && (fork = admission.admitLane()) != null; ) {
                    lanes.get(started++).start(fork, admission.first);
                }
                List<ModelState> states = new ArrayList<>();
                List<int[]> next = new ArrayList<>();
                List<Lane> stepping = new ArrayList<>();
                for (Lane lane : lanes.subList(0, started)) {
                    if (!lane.done && lane.step(tok, ctx)) {
                        states.add(lane.state);
                        next.add(new int[]{lane.out[lane.n - 1]});
                        stepping.add(lane);
                    } else {
                        lane.release(); // its blocks and reservation go back at once, for the lanes still waiting
                    }
                }
                if (stepping.isEmpty()) {
                    if (started == n) {
                        break;
                    }
                    ModelState fork = admission.admitLane();
                    if (fork != null) {
                        lanes.get(started++).start(fork, admission.first);
                    } else {
                        admission.closeWave(); // the next wave waits holding nothing, so waiting cannot deadlock
                    }
                    continue;
                }
                List<Logits> out = model.forward(states, next);
                steps++;
                for (int i = 0; i < stepping.size(); i++) {
                    stepping.get(i).logits = out.get(i);
                    stepping.get(i).calls++;
                }
            }
            long total = System.nanoTime() - t0;
            List<Generation> gens = new ArrayList<>(n);
            long generated = 0;
            for (Lane lane : lanes) {
                generated += lane.n;
            }
            for (Lane lane : lanes) {
                if (!lane.done && Thread.currentThread().isInterrupted()) {
                    lane.finish = FinishReason.CANCELLED;
                }
                gens.add(lane.finish(t0, prefillNanos, total, steps, generated, n, admission.waves));
            }
            return gens;
        } finally {
            for (Lane lane : lanes) {
                lane.release();
            }
            admission.closeWave();
        }
    }

    /**
     * KV memory admission of {@link #generateN}: samples run in waves of forks of one prefilled prompt state. A wave
     * opens by reserving (waiting its turn, holding nothing) the prompt and one sample's worst case; while it runs,
     * more samples join whenever their own worst case fits without waiting, and when its last sample ends with
     * samples left, it closes and the next wave waits again (its prompt mostly comes back from the prefix cache).
     * With a budget that holds all samples this is one wave, the prompt computed once.
     */
    private final class Admission {
        final int[] promptIds;
        final int maxTokens;
        ModelState root;
        MemoryReservation wave;
        Logits first;
        /** Waves opened: 1 when all samples fit at once or joined as others ended. */
        int waves;

        Admission(int[] promptIds, int maxTokens) {
            this.promptIds = promptIds;
            this.maxTokens = maxTokens;
        }

        /** Prefills a new wave's prompt state; the prompt's logits, or {@code null} if interrupted while waiting. */
        Logits openWave() {
            root = model.newState();
            wave = KvAdmission.reserve(root, promptIds.length, 1, maxTokens);
            if (wave == null) {
                return null;
            }
            first = model.forward(root, promptIds);
            waves++;
            return first;
        }

        /** A fork of the prompt state with its own reservation, or {@code null} if that does not fit now. */
        ModelState admitLane() {
            ModelState fork = root.fork();
            if (fork.tryReserve(maxTokens) == null) {
                fork.close();
                return null;
            }
            return fork;
        }

        void closeWave() {
            if (root != null) {
                root.close(); // also closes the wave's reservation, which the root made
                root = null;
                wave = null;
                first = null;
            }
        }
    }

    /** One of the parallel samples: its sampler chain, its forked state and what it generated. */
    private static final class Lane {
        final SamplerChain chain;
        final SamplingConfig cfg;
        final StreamingDecoder decoder;
        final StopStrings stops;
        final int[] promptIds;
        final int[] history;
        final int[] out;
        final double[] logprobs;
        ModelState state;
        final StringBuilder text = new StringBuilder();
        Logits logits;
        int n;
        long calls;
        boolean done;
        private boolean released;
        FinishReason finish = FinishReason.LENGTH;

        Lane(SamplerChain chain, SamplingConfig cfg, StreamingDecoder decoder, StopStrings stops, int[] promptIds,
             int maxTokens) {
            this.chain = chain;
            this.cfg = cfg;
            this.decoder = decoder;
            this.stops = stops;
            this.promptIds = promptIds;
            this.history = Arrays.copyOf(promptIds, promptIds.length + maxTokens);
            this.out = new int[maxTokens];
            this.logprobs = new double[maxTokens];
        }

        /** Begins sampling on {@code fork}, a fork of the prefilled prompt whose logits are {@code first}. */
        void start(ModelState fork, Logits first) {
            state = fork;
            chain.begin(promptIds);
            logits = first;
            calls = 1; // the shared prompt forward
        }

        /** Closes the lane's state (and the reservation it made); harmless twice. */
        void release() {
            if (state != null && !released) {
                released = true;
                state.close();
            }
        }

        /** Samples one token from {@link #logits}; true when the lane wants a forward of it. */
        boolean step(Tokenizer tok, int ctx) {
            int next = chain.sample(logits.values(), Arrays.copyOf(history, promptIds.length + n), n);
            if (tok.special().isEndOfGeneration(next) || cfg.stopTokens().contains(next)) {
                finish = FinishReason.STOP;
                done = true;
                return false;
            }
            out[n] = next;
            logprobs[n] = logits.logProbabilities()[next];
            history[promptIds.length + n] = next;
            n++;
            text.append(stops.accept(decoder.accept(next)));
            if (stops.stopped()) {
                finish = FinishReason.STOP;
                done = true;
                return false;
            }
            if (n == out.length || state.length() >= ctx) {
                done = true;
                return false;
            }
            return true;
        }

        Generation finish(long t0, long prefillNanos, long total, long steps, long generatedAll, int lanes, int waves) {
            if (!stops.stopped()) {
                text.append(stops.accept(decoder.flush())).append(stops.flush());
            }
            Map<String, Object> trace = new LinkedHashMap<>();
            trace.put("prefill_ms", prefillNanos / 1e6);
            trace.put("decode_ms", (total - prefillNanos) / 1e6);
            trace.put("prefill_tokens_per_s", rate(promptIds.length, prefillNanos));
            trace.put("decode_tokens_per_s", rate(generatedAll, total - prefillNanos));
            trace.put("parallel", lanes);
            trace.put("batched_steps", steps);
            trace.put("kv_waves", waves);
            trace.put("prompt_ids", promptIds);
            trace.put("sampling", cfg.describe());
            Cost cost = new Cost(promptIds.length, n, calls, 0, Duration.ofNanos(total));
            return new Generation(text.toString(), Arrays.copyOf(out, n), Arrays.copyOf(logprobs, n), finish, cost, trace);
        }
    }

    static double rate(long tokens, long nanos) {
        return tokens == 0 || nanos == 0 ? 0.0 : tokens / (nanos / 1e9);
    }
}
