package dev.metagen.control.sequence;

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
 * Classifier-guided decoding in the style of FUDGE (Yang and Klein 2021): at each step the model's top-k next
 * tokens are rescored by adding {@code lambda * log p(attribute | prefix + token)} from a scorer on partial
 * outputs; all other tokens are dropped; then the usual sampler chain picks. The scorer calls are counted.
 */
public final class FudgeGenerator implements Generator {
    private final LanguageModel model;
    private final PartialScorer scorer;
    private final int topK;
    private final double lambda;

    /**
     * FUDGE over {@code model}.
     *
     * @param model the model
     * @param scorer the future discriminator
     * @param topK how many next tokens are rescored ({@code >= 1})
     * @param lambda the discriminator's weight
     */
    public FudgeGenerator(LanguageModel model, PartialScorer scorer, int topK, double lambda) {
        if (topK < 1) {
            throw new MetagenException("FUDGE needs top-k >= 1, got " + topK);
        }
        this.model = model;
        this.scorer = scorer;
        this.topK = topK;
        this.lambda = lambda;
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        Tokenizer tok = model.tokenizer();
        int[] promptIds = tok.encode(prompt.text(), params.addSpecial(), false);
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        long t0 = System.nanoTime();
        SamplerChain chain = SamplerChain.from(params.withSampling(params.temperature(), 0, 1.0, params.seed()));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int[] out = new int[params.maxTokens()];
        double[] logprobs = new double[out.length];
        int n = 0;
        long calls = 0;
        long scorerCalls = 0;
        FinishReason finish = FinishReason.LENGTH;
        try (ModelState state = model.newState()) {
            Logits logits = model.forward(state, promptIds);
            calls++;
            while (n < out.length) {
                float[] raw = logits.values();
                double[] lp = logits.logProbabilities();
                Integer[] order = new Integer[raw.length];
                for (int i = 0; i < raw.length; i++) {
                    order[i] = i;
                }
                Arrays.sort(order, (a, b) -> Float.compare(raw[b], raw[a]) != 0 ? Float.compare(raw[b], raw[a]) : Integer.compare(a, b));
                float[] adjusted = new float[raw.length];
                Arrays.fill(adjusted, Float.NEGATIVE_INFINITY);
                byte[] prefix = bytes.toByteArray();
                for (int k = 0; k < Math.min(topK, raw.length); k++) {
                    int t = order[k];
                    double bonus = 0;
                    if (!tok.special().isEndOfGeneration(t)) {
                        byte[] tb = tok.tokenBytes(t);
                        byte[] cand = Arrays.copyOf(prefix, prefix.length + tb.length);
                        System.arraycopy(tb, 0, cand, prefix.length, tb.length);
                        bonus = lambda * scorer.logScore(new String(cand, StandardCharsets.UTF_8));
                    } else {
                        bonus = lambda * scorer.logScore(new String(prefix, StandardCharsets.UTF_8));
                    }
                    scorerCalls++;
                    adjusted[t] = (float) (raw[t] + bonus);
                }
                int next = chain.sample(adjusted);
                if (tok.special().isEndOfGeneration(next)) {
                    finish = FinishReason.STOP;
                    break;
                }
                out[n] = next;
                logprobs[n] = lp[next];
                bytes.writeBytes(tok.tokenBytes(next));
                n++;
                if (n == out.length || state.length() >= model.info().contextLength()) {
                    break;
                }
                logits = model.forward(state, next);
                calls++;
            }
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("scorer_calls", scorerCalls);
        trace.put("final_score", scorer.logScore(bytes.toString(StandardCharsets.UTF_8)));
        Cost cost = new Cost(promptIds.length, n, calls, scorerCalls, Duration.ofNanos(System.nanoTime() - t0));
        return new Generation(bytes.toString(StandardCharsets.UTF_8), Arrays.copyOf(out, n), Arrays.copyOf(logprobs, n), finish, cost, trace);
    }
}
