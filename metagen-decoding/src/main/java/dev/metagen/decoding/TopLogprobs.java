package dev.metagen.decoding;

import dev.metagen.core.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The top-K alternatives of one step under the model's raw distribution, as in the OpenAI API's
 * {@code top_logprobs}: JSON-friendly maps of {@code token}, {@code text} and {@code logprob}, most likely first
 * (lowest id on ties).
 */
public final class TopLogprobs {
    private TopLogprobs() {}

    /** Indices of the {@code k} largest values of {@code logprobs}, largest first, lowest index on ties. */
    public static int[] topIndices(double[] logprobs, int k) {
        Integer[] order = new Integer[logprobs.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -logprobs[i]).thenComparingInt(i -> i));
        int n = Math.min(k, order.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = order[i];
        }
        return out;
    }

    public static List<Map<String, Object>> of(double[] logprobs, int k, Tokenizer tokenizer) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int id : topIndices(logprobs, k)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("token", id);
            if (tokenizer != null) {
                m.put("text", tokenizer.decode(new int[] {id}));
            }
            m.put("logprob", logprobs[id]);
            out.add(m);
        }
        return out;
    }
}
