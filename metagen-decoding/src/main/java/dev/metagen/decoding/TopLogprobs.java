package dev.metagen.decoding;

import dev.metagen.core.Tokenizer;

import dev.metagen.decoding.sampling.Candidates;

import java.util.ArrayList;
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

    /**
     * Indices of the {@code k} largest values of {@code logprobs}, largest first, lowest index on ties (compared in
     * float precision; a bounded heap, so a large vocabulary is not fully sorted).
     *
     * @param logprobs log-probabilities over the vocabulary
     * @param k how many
     * @return the indices
     */
    public static int[] topIndices(double[] logprobs, int k) {
        if (k <= 0 || logprobs.length == 0) {
            return new int[0];
        }
        float[] f = new float[logprobs.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) logprobs[i];
        }
        Candidates c = Candidates.of(f);
        c.keepTop(Math.min(k, f.length));
        int[] out = new int[c.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = c.id(i);
        }
        return out;
    }

    /**
     * The {@code k} most likely tokens as JSON-friendly maps ({@code token}, {@code text}, {@code logprob}), most
     * likely first.
     *
     * @param logprobs log-probabilities over the vocabulary
     * @param k how many
     * @param tokenizer gives each token's text, or null
     * @return the alternatives
     */
    public static List<Map<String, Object>> of(double[] logprobs, int k, Tokenizer tokenizer) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int id : topIndices(logprobs, k)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("token", id);
            if (tokenizer != null) {
                // the token's own bytes, as the generated text carries them: decode() would drop the leading space
                // of a SentencePiece word token
                m.put("text", new String(tokenizer.tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8));
            }
            m.put("logprob", logprobs[id]);
            out.add(m);
        }
        return out;
    }
}
