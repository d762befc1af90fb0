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
 */
public record Generation(String text, int[] tokens, double[] logprobs, FinishReason finish, Cost cost,
                         Map<String, Object> trace) {
    public Generation {
        trace = Collections.unmodifiableMap(new LinkedHashMap<>(trace));
    }

    public double sumLogprob() {
        double s = 0;
        for (double lp : logprobs) {
            s += lp;
        }
        return s;
    }
}
