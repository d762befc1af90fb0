package dev.metagen.meta.testing;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;

import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A seeded stochastic generator whose answer distribution is known exactly: it answers "The answer is A_i." with
 * probability p_i, drawn from {@code params.seed()}. Each answer costs {@code tokensPerAnswer} generated tokens
 * (capped by maxTokens), 3 prompt tokens and one model call per generated token.
 */
public final class CategoricalGenerator implements Generator {
    private final String[] answers;
    private final double[] probs;
    private final int tokensPerAnswer;
    public final AtomicLong calls = new AtomicLong();

    public CategoricalGenerator(String[] answers, double[] probs, int tokensPerAnswer) {
        this.answers = answers;
        this.probs = probs;
        this.tokensPerAnswer = tokensPerAnswer;
    }

    public CategoricalGenerator(String[] answers, double[] probs) {
        this(answers, probs, 1);
    }

    public int draw(long seed) {
        double u = new SplittableRandom(seed).nextDouble();
        double c = 0;
        for (int i = 0; i < probs.length; i++) {
            c += probs[i];
            if (u < c) {
                return i;
            }
        }
        return probs.length - 1;
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        calls.incrementAndGet();
        int k = draw(params.seed());
        int n = Math.min(tokensPerAnswer, params.maxTokens());
        int[] tokens = new int[n];
        double[] lps = new double[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = k;
            lps[i] = Math.log(probs[k]) / n;
        }
        String text = n == tokensPerAnswer ? "The answer is " + answers[k] + "." : "The answer";
        return new Generation(text, tokens, lps, n == tokensPerAnswer ? FinishReason.STOP : FinishReason.LENGTH,
                new Cost(3, n, n, 0, Duration.ofNanos(1000)), Map.of());
    }
}
