package dev.metagen.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The output of a generator.
 *
 * @param tokens   generated token ids (not the prompt)
 * @param logprobs the log-probability of each generated token under the model's raw distribution
 * @param trace    strategy-specific detail (timings, explored trees ...), JSON-friendly values; kept in insertion
 *                 order, and a value may be null (e.g. no answer was extracted)
 * @param text the generated text
 * @param finish why the generation ended
 * @param cost what it cost
 *
 * <p>Example:
 * <pre>{@code
 * Generation g = generator.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(32));
 * String text = g.text();
 * double logprob = g.sumLogprob();                // the output's log-probability under the model
 * long tokens = g.cost().generatedTokens();
 * boolean complete = g.finish() == FinishReason.STOP;
 * }</pre>
 */
public record Generation(String text, int[] tokens, double[] logprobs, FinishReason finish, Cost cost,
                         Map<String, Object> trace) {
    /** Copies the trace, keeping its order. */
    public Generation {
        trace = Collections.unmodifiableMap(new LinkedHashMap<>(trace));
    }

    /**
     * The log-probability of the whole output under the model.
     *
     * @return the sum of {@link #logprobs()}
     */
    public double sumLogprob() {
        double s = 0;
        for (double lp : logprobs) {
            s += lp;
        }
        return s;
    }
}
