package dev.metagen.decoding;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
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
        try (ModelState state = model.newState()) {
            Logits logits = null;
            if (out.length > 0) {
                chain.begin(promptIds);
                logits = model.forward(state, promptIds);
                calls++;
            }
            prefillNanos = System.nanoTime() - t0;
            while (n < out.length) {
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

    static double rate(long tokens, long nanos) {
        return tokens == 0 || nanos == 0 ? 0.0 : tokens / (nanos / 1e9);
    }
}
