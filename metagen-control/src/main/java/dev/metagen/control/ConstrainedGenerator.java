package dev.metagen.control;

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
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.sampling.SamplerChain;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Constrained decoding (Welleck et al. 2024, section 3.2): greedy or ancestral sampling over a
 * {@link LanguageModel} where each step's logits are masked by a {@link TokenConstraint} before the
 * {@link SamplerChain} picks, so every finished output is in the constraint's language. The output text is
 * the concatenation of the generated tokens' bytes (what the constraint saw).
 */
public final class ConstrainedGenerator implements Generator {
    private final LanguageModel model;
    private final TokenConstraint constraint;
    private final double closeAfter;
    private final dev.metagen.decoding.sampling.SamplingConfig sampling;

    /** Closes the output once 3/4 of the token budget is spent (see {@link #ConstrainedGenerator(LanguageModel, TokenConstraint, double)}). */
    public ConstrainedGenerator(LanguageModel model, TokenConstraint constraint) {
        this(model, constraint, 0.75);
    }

    /**
     * @param closeAfter once this fraction of {@code maxTokens} is generated, only tokens that bring the output
     *                   strictly closer to completion are allowed ({@link ConstraintState#closing()}), so a
     *                   budget-limited output still finishes when the budget allows; 1 or more disables it
     */
    public ConstrainedGenerator(LanguageModel model, TokenConstraint constraint, double closeAfter) {
        this(model, constraint, closeAfter, null);
    }

    private ConstrainedGenerator(LanguageModel model, TokenConstraint constraint, double closeAfter,
                                 dev.metagen.decoding.sampling.SamplingConfig sampling) {
        this.model = model;
        this.constraint = constraint;
        this.closeAfter = closeAfter;
        this.sampling = sampling;
    }

    /**
     * Samples the masked distribution with the whole adapter chain of {@code config} (penalties, logit bias,
     * min-p ... and its seed) instead of the temperature, top-k, top-p and seed of each call's params.
     */
    public ConstrainedGenerator withSampling(dev.metagen.decoding.sampling.SamplingConfig config) {
        return new ConstrainedGenerator(model, constraint, closeAfter, java.util.Objects.requireNonNull(config));
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        Tokenizer tok = model.tokenizer();
        return generate(tok.encode(prompt.text(), params.addSpecial(), false), params, constraint.start());
    }

    /** Generates from prompt ids, starting in constraint state {@code start}. */
    public Generation generate(int[] promptIds, GenerationParams params, ConstraintState start) {
        return generate(promptIds, params, start, id -> {});
    }

    /**
     * As {@link #generate(int[], GenerationParams, ConstraintState)}, calling {@code onToken} after each accepted
     * token: a caller stops the generation at once by throwing from it (a server whose client went away), and the
     * sequence's state is closed on the way out.
     */
    public Generation generate(int[] promptIds, GenerationParams params, ConstraintState start,
                               java.util.function.IntConsumer onToken) {
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        int ctx = model.info().contextLength();
        if (promptIds.length >= ctx) {
            throw new MetagenException("the prompt has " + promptIds.length + " tokens, but the context holds only " + ctx);
        }
        SamplerChain chain = sampling == null ? SamplerChain.from(params) : SamplerChain.build(sampling, model.tokenizer());
        int[] history = Arrays.copyOf(promptIds, promptIds.length + params.maxTokens());
        ConstraintState cs = start;
        int[] out = new int[params.maxTokens()];
        double[] logprobs = new double[out.length];
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long[] maskNanos = new long[out.length + 1];
        int n = 0;
        long calls = 0;
        FinishReason finish = FinishReason.LENGTH;
        long t0 = System.nanoTime();
        long prefillNanos;
        try (ModelState state = model.newState()) {
            Logits logits = null;
            if (out.length > 0 && !cs.mustEnd()) {
                if (sampling != null) {
                    chain.begin(promptIds);
                }
                logits = model.forward(state, promptIds);
                calls++;
            }
            prefillNanos = System.nanoTime() - t0;
            while (n < out.length) {
                if (cs.mustEnd()) {
                    finish = FinishReason.STOP;
                    break;
                }
                long m0 = System.nanoTime();
                boolean closing = closeAfter < 1 && n >= closeAfter * out.length;
                long[] mask = closing ? cs.closing() : cs.allowed();
                maskNanos[n] = System.nanoTime() - m0;
                float[] masked = applyMask(logits.values(), mask);
                int next = sampling == null ? chain.sample(masked)
                        : chain.sample(masked, Arrays.copyOf(history, promptIds.length + n), n);
                double[] lp = logits.logProbabilities();
                if (model.tokenizer().special().isEndOfGeneration(next)) {
                    finish = FinishReason.STOP;
                    break;
                }
                cs = cs.advance(next);
                out[n] = next;
                logprobs[n] = lp[next];
                bytes.writeBytes(model.tokenizer().tokenBytes(next));
                history[promptIds.length + n] = next;
                n++;
                onToken.accept(next);
                if (!params.stop().isEmpty() && stopAt(bytes, params.stop()) >= 0) {
                    finish = FinishReason.STOP; // a stop string ends the output even where the constraint is unfinished
                    break;
                }
                if (n == out.length || state.length() >= ctx) {
                    if (cs.mustEnd()) {
                        finish = FinishReason.STOP;
                    }
                    break;
                }
                if (Thread.currentThread().isInterrupted()) {
                    finish = FinishReason.CANCELLED; // cancellation or a time budget: end before the next forward
                    break;
                }
                logits = model.forward(state, next);
                calls++;
            }
        }
        if (n == 0 && cs.mustEnd()) {
            finish = FinishReason.STOP;
        }
        long total = System.nanoTime() - t0;
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("constraint", constraint.describe());
        trace.put("complete", cs.isComplete());
        long[] timed = Arrays.copyOf(maskNanos, Math.max(n, 0));
        Arrays.sort(timed);
        if (timed.length > 0) {
            trace.put("mask_us_median", timed[timed.length / 2] / 1e3);
            trace.put("mask_us_max", timed[timed.length - 1] / 1e3);
        }
        long decodeNanos = total - prefillNanos;
        trace.put("prefill_ms", prefillNanos / 1e6);
        trace.put("decode_ms", decodeNanos / 1e6);
        trace.put("prefill_tokens_per_s", calls > 0 && prefillNanos > 0 ? promptIds.length / (prefillNanos / 1e9) : 0.0);
        trace.put("decode_tokens_per_s", calls > 1 && decodeNanos > 0 ? (calls - 1) / (decodeNanos / 1e9) : 0.0);
        trace.put("prompt_ids", promptIds);
        Cost cost = new Cost(promptIds.length, n, calls, 0, Duration.ofNanos(total));
        String text = new String(bytes.toByteArray(), StandardCharsets.UTF_8);
        int cut = params.stop().isEmpty() ? -1 : stopAt(bytes, params.stop());
        if (cut >= 0) {
            text = text.substring(0, cut);
            trace.put("stop_string", true);
        }
        return new Generation(text, Arrays.copyOf(out, n), Arrays.copyOf(logprobs, n), finish, cost, trace);
    }

    /** Where the first stop string starts in the text so far, or -1. */
    private static int stopAt(ByteArrayOutputStream bytes, java.util.List<String> stops) {
        String text = bytes.toString(StandardCharsets.UTF_8);
        int best = -1;
        for (String s : stops) {
            int i = s.isEmpty() ? -1 : text.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }

    /** A copy of {@code logits} with every token outside {@code mask} at -infinity. */
    public static float[] applyMask(float[] logits, long[] mask) {
        float[] out = logits.clone();
        boolean any = false;
        for (int i = 0; i < out.length; i++) {
            if ((mask[i >>> 6] >>> (i & 63) & 1L) == 0) {
                out[i] = Float.NEGATIVE_INFINITY;
            } else {
                any = true;
            }
        }
        if (!any) {
            throw new MetagenException("no token of the vocabulary can continue the constrained output");
        }
        return out;
    }
}
