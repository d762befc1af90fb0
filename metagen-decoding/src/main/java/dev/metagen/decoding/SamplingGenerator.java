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
import dev.metagen.core.SamplingConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Greedy decoding and ancestral sampling over a {@link LanguageModel} (Welleck et al., 2024, section 2): the one
 * decode loop of the project. The prompt is prefilled once, then each step samples from the next-token
 * distribution adapted by the sampler chain of the call's {@link GenerationParams} (every knob of its
 * {@link SamplingConfig}, after the per-generation {@link LogitsProcessors}: guidance adapters and an output mask),
 * until an end-of-generation or stop token, a stop string, the output mask's end, the token limit or the context
 * length. The loop checks the thread's interrupt flag (and an optional cancellation) before every forward, records
 * log-probabilities and top alternatives, streams text and counts the cost.
 *
 * <p>Example:
 * <pre>{@code
 * SamplingGenerator generator = new SamplingGenerator(model);
 * Generation g = generator.generate(Prompt.of("Once upon a time"),
 *         GenerationParams.of(32, new SamplingConfig().temperature(0.8).minP(0.05)).withSeed(7));
 * // four samples of one prompt, computed once and decoded in one batch
 * List<Generation> samples = generator.generateN(Prompt.of("Once upon a time"), GenerationParams.greedy(16), 4);
 * }</pre>
 */
public final class SamplingGenerator implements Generator {
    private final LanguageModel model;
    private final LogitsProcessors.Factory processors;

    /**
     * Samples with the sampling settings of each call's {@link GenerationParams}. A call whose params carry a
     * constraint or guidance is refused: those need the processors of {@link #withProcessors}.
     *
     * @param model the model
     */
    public SamplingGenerator(LanguageModel model) {
        this(model, null);
    }

    private SamplingGenerator(LanguageModel model, LogitsProcessors.Factory processors) {
        this.model = model;
        this.processors = processors;
    }

    /**
     * Builds each generation's guidance adapters and output mask with {@code factory}.
     *
     * @param factory builds each generation's processors
     * @return a new generator
     */
    public SamplingGenerator withProcessors(LogitsProcessors.Factory factory) {
        return new SamplingGenerator(model, java.util.Objects.requireNonNull(factory));
    }

    /**
     * Puts the fixed adapters {@code first} at the head of every chain (adapters without per-sequence state).
     *
     * @param first the adapters
     * @return a new generator
     */
    public SamplingGenerator withAdapters(List<Sampler> first) {
        List<Sampler> copy = List.copyOf(first);
        return withProcessors((params, ids) -> new LogitsProcessors(copy, null, null));
    }

    /** {@return the model this generator decodes} */
    public LanguageModel model() {
        return model;
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        return generate(prompt, params, text -> {});
    }

    /**
     * Generates, passing each piece of completed text to {@code onText} as soon as it is final.
     *
     * @param prompt the prompt
     * @param params the call's parameters
     * @param onText receives each final piece of text
     * @return the generation
     */
    public Generation generate(Prompt prompt, GenerationParams params, Consumer<String> onText) {
        Tokenizer tok = model.tokenizer();
        int[] promptIds = tok.encode(prompt.text(), params.addSpecial(), false);
        return generate(promptIds, params, onText);
    }

    /**
     * Generates from prompt token ids.
     *
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @param onText receives each final piece of text
     * @return the generation
     */
    public Generation generate(int[] promptIds, GenerationParams params, Consumer<String> onText) {
        checkPrompt(promptIds);
        // KV memory admission: the sequence's worst case is reserved (waiting its turn) before the prefill
        try (ModelState state = model.newState();
             MemoryReservation kv = KvAdmission.reserve(state, promptIds.length, params.maxTokens())) {
            if (kv == null) {
                // interrupted while waiting for KV memory: nothing was computed
                return new Generation("", new int[0], new double[0], FinishReason.CANCELLED, Cost.ZERO,
                        Map.of("prompt_ids", promptIds, "stopped", "cancelled while waiting for KV memory"));
            }
            return generate(state, promptIds, params, onText, () -> false);
        }
    }

    /**
     * Generates into {@code state}, which already holds the first {@code state.length()} tokens of
     * {@code promptIds} (a chat session's cache, a fork): only the rest of the prompt is computed. The state is left
     * open for the caller. {@code cancelled} is polled before every token, as is the thread's interrupt flag.
     *
     * @param state a state holding a prefix of the prompt
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @param onText receives each final piece of text
     * @param cancelled polled before each step; true ends the generation with {@code CANCELLED}
     * @return the generation
     */
    public Generation generate(ModelState state, int[] promptIds, GenerationParams params, Consumer<String> onText,
                               BooleanSupplier cancelled) {
        checkPrompt(promptIds);
        int cached = state.length();
        if (cached >= promptIds.length) {
            throw new MetagenException("the state holds " + cached + " tokens; at least one prompt token must be left to compute");
        }
        try (LogitsProcessors lp = processorsFor(params, promptIds)) {
            return decode(state, promptIds, cached, params, lp, onText, cancelled);
        }
    }

    private LogitsProcessors processorsFor(GenerationParams params, int[] promptIds) {
        if (processors != null) {
            return processors.create(params, promptIds);
        }
        if (params.constraint() != null) {
            throw new MetagenException("this generator cannot apply the output constraint " + params.constraint().describe()
                    + ": build it with the constraint processors (a 'constrained' or model leaf)");
        }
        if (!params.guidance().isNone()) {
            throw new MetagenException("this generator cannot apply guidance " + params.guidance().describe()
                    + ": build it with the guidance processors (a model leaf)");
        }
        return LogitsProcessors.NONE;
    }

    private void checkPrompt(int[] promptIds) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
    }

    private Generation decode(ModelState state, int[] promptIds, int cached, GenerationParams params, LogitsProcessors lp,
                              Consumer<String> onText, BooleanSupplier cancelled) {
        int ctx = model.info().contextLength();
        Tokenizer tok = model.tokenizer();
        SamplingConfig cfg = params.sampling();
        SamplerChain chain = SamplerChain.build(cfg, tok, lp.chainHead());
        OutputMask mask = lp.mask();
        StreamingDecoder decoder = tok.streamingDecoder();
        StopStrings stops = new StopStrings(params.stop());
        StringBuilder text = new StringBuilder();
        int[] history = Arrays.copyOf(promptIds, promptIds.length + params.maxTokens());
        int[] out = new int[params.maxTokens()];
        double[] logprobs = new double[out.length];
        List<Object> tops = new ArrayList<>();
        int topLogprobs = params.logprobs();
        int n = 0;
        long calls = 0;
        FinishReason finish = FinishReason.LENGTH;
        long t0 = System.nanoTime();
        long prefillNanos;
        long decodeForwards = 0;
        Logits logits = null;
        boolean ended = mask != null && mask.mustEnd();
        if (out.length > 0 && !ended) {
            // the prefill runs even when a stop was already asked for: the first token comes from it, and the
            // loop ends before the next forward
            chain.begin(promptIds);
            logits = model.forward(state, Arrays.copyOfRange(promptIds, cached, promptIds.length));
            calls++;
        }
        prefillNanos = System.nanoTime() - t0;
        while (logits != null && n < out.length) {
            if (mask != null) {
                if (mask.mustEnd()) {
                    finish = FinishReason.STOP;
                    break;
                }
                mask.progress(n, out.length);
            }
            int next = chain.sample(logits.values(), Arrays.copyOf(history, promptIds.length + n), n);
            if (tok.special().isEndOfGeneration(next) || cfg.stopTokens().contains(next)) {
                finish = FinishReason.STOP;
                break;
            }
            double[] lps = logits.logProbabilities();
            out[n] = next;
            logprobs[n] = lps[next];
            if (topLogprobs > 0) {
                tops.add(TopLogprobs.of(lps, topLogprobs, tok));
            }
            history[promptIds.length + n] = next;
            n++;
            String piece = stops.accept(decoder.accept(next));
            text.append(piece);
            onText.accept(piece);
            if (stops.stopped()) {
                finish = FinishReason.STOP; // a stop string ends the output even where a constraint is unfinished
                break;
            }
            if (mask != null && mask.mustEnd()) {
                finish = FinishReason.STOP;
                break;
            }
            if (n == out.length || state.length() >= ctx) {
                break; // the token limit or a full context: LENGTH
            }
            if (stopRequested(cancelled)) {
                // the caller (a meta-generator's cancellation or time budget, a client that left) stops this
                // generation; the interrupt flag stays set for the caller to see
                finish = FinishReason.CANCELLED;
                break;
            }
            logits = model.forward(state, next);
            calls++;
            decodeForwards++;
        }
        if (ended) {
            finish = FinishReason.STOP;
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
        trace.put("prefill_tokens_per_s", rate(calls > 0 ? promptIds.length - cached : 0, prefillNanos));
        trace.put("decode_tokens_per_s", rate(decodeForwards, decodeNanos));
        trace.put("prompt_ids", promptIds);
        if (cached > 0) {
            trace.put("cached_prompt_tokens", cached);
        }
        trace.put("sampling", cfg.describe());
        if (!params.guidance().isNone()) {
            trace.put("guidance", params.guidance().describe());
        }
        if (mask != null) {
            trace.put("constraint", mask.describe());
            trace.put("complete", mask.isComplete());
        }
        if (topLogprobs > 0) {
            trace.put("top_logprobs", tops);
        }
        int[] tokens = Arrays.copyOf(out, n);
        // the adapters' own model contexts (guidance) and scorer calls are part of what this generation cost
        Cost cost = new Cost(calls > 0 ? promptIds.length - cached : 0, n, calls, 0, Duration.ofNanos(total))
                .plus(adapterCost(chain));
        return new Generation(text.toString(), tokens, Arrays.copyOf(logprobs, n), finish, cost, trace);
    }

    private static Cost adapterCost(SamplerChain chain) {
        Cost c = Cost.ZERO;
        for (Sampler s : chain.samplers()) {
            c = c.plus(s.cost());
        }
        return c;
    }

    private static boolean stopRequested(BooleanSupplier cancelled) {
        return Thread.currentThread().isInterrupted() || cancelled.getAsBoolean();
    }

    /**
     * Parallel sampling: {@code n} samples of one prompt, which is computed once; the samples are forks of its
     * state (sharing its KV blocks) and every step advances all unfinished samples in one batched forward. Sample
     * {@code i} draws with seed {@code seed + i}, so it equals {@link #generate(int[], GenerationParams, Consumer)}
     * with that seed (to float rounding of batched versus single-row products).
     *
     * @param prompt the prompt
     * @param params the call's parameters
     * @param n the number of samples
     * @return the samples, in order
     */
    public List<Generation> generateN(Prompt prompt, GenerationParams params, int n) {
        return generateN(model.tokenizer().encode(prompt.text(), params.addSpecial(), false), params, n);
    }

    /**
     * {@link #generateN(Prompt, GenerationParams, int)} from prompt token ids.
     *
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @param n the number of samples
     * @return the samples, in order
     */
    public List<Generation> generateN(int[] promptIds, GenerationParams params, int n) {
        if (n < 1 || n > 4096) {
            throw new MetagenException("the number of parallel samples must be in [1, 4096], got " + n);
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
        long t0 = System.nanoTime();
        List<Lane> lanes = new ArrayList<>(n);
        Admission admission = new Admission(promptIds, params.maxTokens());
        try {
            for (int i = 0; i < n; i++) {
                GenerationParams p = params.withSeed(params.seed() + i);
                LogitsProcessors lp = processorsFor(p, promptIds);
                lanes.add(new Lane(SamplerChain.build(p.sampling(), tok, lp.chainHead()), p, lp,
                        tok.streamingDecoder(), new StopStrings(params.stop()), promptIds, params.maxTokens()));
            }
            long prefillNanos = 0;
            long steps = 0;
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
                lane.processors.close();
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
        final GenerationParams params;
        final LogitsProcessors processors;
        final List<Object> tops = new ArrayList<>();
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

        Lane(SamplerChain chain, GenerationParams params, LogitsProcessors processors, StreamingDecoder decoder,
             StopStrings stops, int[] promptIds, int maxTokens) {
            this.chain = chain;
            this.cfg = params.sampling();
            this.params = params;
            this.processors = processors;
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
            OutputMask mask = processors.mask();
            if (mask != null) {
                if (mask.mustEnd()) {
                    finish = FinishReason.STOP;
                    done = true;
                    return false;
                }
                mask.progress(n, out.length);
            }
            int next = chain.sample(logits.values(), Arrays.copyOf(history, promptIds.length + n), n);
            if (tok.special().isEndOfGeneration(next) || cfg.stopTokens().contains(next)) {
                finish = FinishReason.STOP;
                done = true;
                return false;
            }
            out[n] = next;
            double[] lps = logits.logProbabilities();
            logprobs[n] = lps[next];
            if (params.logprobs() > 0) {
                tops.add(TopLogprobs.of(lps, params.logprobs(), tok));
            }
            history[promptIds.length + n] = next;
            n++;
            text.append(stops.accept(decoder.accept(next)));
            if (stops.stopped() || (mask != null && mask.mustEnd())) {
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
            if (processors.mask() != null) {
                trace.put("constraint", processors.mask().describe());
                trace.put("complete", processors.mask().isComplete());
            }
            if (params.logprobs() > 0) {
                trace.put("top_logprobs", tops);
            }
            Cost cost = new Cost(promptIds.length, n, calls, 0, Duration.ofNanos(total)).plus(adapterCost(chain));
            return new Generation(text.toString(), Arrays.copyOf(out, n), Arrays.copyOf(logprobs, n), finish, cost, trace);
        }
    }

    static double rate(long tokens, long nanos) {
        return tokens == 0 || nanos == 0 ? 0.0 : tokens / (nanos / 1e9);
    }
}
