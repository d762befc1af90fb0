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
import dev.metagen.decoding.sampling.SamplerChain;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Greedy decoding and ancestral sampling over a {@link LanguageModel}: the prompt is prefilled once, then each
 * step samples from the adapted next-token distribution (Welleck et al., 2024, section 2) until an
 * end-of-generation token, a stop string, the token limit or the context length.
 */
public final class SamplingGenerator implements Generator {
    private final LanguageModel model;

    public SamplingGenerator(LanguageModel model) {
        this.model = model;
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

    /** Generates from prompt token ids. */
    public Generation generate(int[] promptIds, GenerationParams params, Consumer<String> onText) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        Tokenizer tok = model.tokenizer();
        SamplerChain chain = SamplerChain.from(params);
        StreamingDecoder decoder = tok.streamingDecoder();
        StopStrings stops = new StopStrings(params.stop());
        StringBuilder text = new StringBuilder();
        int[] out = new int[Math.max(0, params.maxTokens())];
        double[] logprobs = new double[out.length];
        int n = 0;
        long calls = 0;
        FinishReason finish = FinishReason.LENGTH;
        long t0 = System.nanoTime();
        long prefillNanos;
        long decodeForwards = 0;
        try (ModelState state = model.newState()) {
            Logits logits = null;
            if (out.length > 0) {
                logits = model.forward(state, promptIds);
                calls++;
            }
            prefillNanos = System.nanoTime() - t0;
            while (n < out.length) {
                int next = chain.sample(logits.values());
                double[] lp = logits.logProbabilities();
                if (tok.special().isEndOfGeneration(next)) {
                    finish = FinishReason.STOP;
                    break;
                }
                out[n] = next;
                logprobs[n] = lp[next];
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
        int[] tokens = java.util.Arrays.copyOf(out, n);
        Cost cost = new Cost(promptIds.length, n, calls, 0, Duration.ofNanos(total));
        return new Generation(text.toString(), tokens, java.util.Arrays.copyOf(logprobs, n), finish, cost, trace);
    }

    private static double rate(long tokens, long nanos) {
        return tokens == 0 || nanos == 0 ? 0.0 : tokens / (nanos / 1e9);
    }
}
