package dev.metagen.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Guidance;
import dev.metagen.core.MetagenException;
import dev.metagen.core.OutputConstraint;
import dev.metagen.core.SamplingConfig;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The OpenAI-style request fields of a call's {@link GenerationParams}: the standard ones ({@code max_tokens},
 * {@code temperature}, {@code top_p}, {@code seed}, {@code stop}, penalties, {@code logit_bias}, {@code logprobs},
 * {@code response_format}) and the extensions that vLLM, llama.cpp's server and metagen's own server read
 * ({@code top_k}, {@code min_p}, {@code typical_p}, {@code repetition_penalty}, {@code min_tokens},
 * {@code samplers}, {@code regex}, {@code grammar}). A setting at its neutral value is not sent, so a plain request
 * stays one that any OpenAI-compatible server accepts; a setting no such field carries is refused, naming it.
 */
final class RequestFields {
    /** The bias the OpenAI API documents as a ban: {@code -inf} is sent as this. */
    static final float BAN = -100f;

    private static final ObjectMapper JSON = new ObjectMapper();

    private RequestFields() {}

    /**
     * Puts the fields of {@code params} into {@code o}.
     *
     * @param chat           the chat API (its logprobs are {@code logprobs: true} plus {@code top_logprobs})
     * @param chosenLogprobs ask for the chosen tokens' log-probabilities even when no alternatives are wanted
     * @throws MetagenException naming every setting that no request field carries
     */
    static void put(ObjectNode o, GenerationParams params, boolean chat, boolean chosenLogprobs) {
        List<String> refused = refused(params);
        if (!refused.isEmpty()) {
            throw new MetagenException("a remote endpoint cannot apply " + String.join(", ", refused)
                    + " (no OpenAI-compatible request field carries it; use a local model)");
        }
        SamplingConfig s = params.sampling();
        o.put("max_tokens", params.maxTokens());
        o.put("temperature", s.temperature());
        if (s.topP() < 1) {
            o.put("top_p", s.topP());
        }
        if (s.topK() > 0) {
            o.put("top_k", s.topK());
        }
        if (s.minP() > 0) {
            o.put("min_p", s.minP());
        }
        if (s.typicalP() < 1) {
            o.put("typical_p", s.typicalP());
        }
        if (penaltiesOn(s)) {
            if (s.repeatPenalty() != 1) {
                o.put("repetition_penalty", s.repeatPenalty());
            }
            if (s.frequencyPenalty() != 0) {
                o.put("frequency_penalty", s.frequencyPenalty());
            }
            if (s.presencePenalty() != 0) {
                o.put("presence_penalty", s.presencePenalty());
            }
        }
        if (!s.logitBias().isEmpty()) {
            ObjectNode b = o.putObject("logit_bias");
            for (Map.Entry<Integer, Float> e : new TreeMap<>(s.logitBias()).entrySet()) {
                b.put(String.valueOf(e.getKey()), e.getValue() == Float.NEGATIVE_INFINITY ? BAN : e.getValue());
            }
        }
        if (s.minTokens() > 0) {
            o.put("min_tokens", s.minTokens());
        }
        if (!s.samplers().equals(SamplingConfig.DEFAULT_ORDER)) {
            ArrayNode a = o.putArray("samplers");
            s.samplers().forEach(a::add);
        }
        o.put("seed", params.seed());
        if (!params.stop().isEmpty()) {
            ArrayNode a = o.putArray("stop");
            params.stop().forEach(a::add);
        }
        if (params.logprobs() > 0) {
            if (chat) {
                o.put("logprobs", true);
                o.put("top_logprobs", params.logprobs());
            } else {
                o.put("logprobs", params.logprobs());
            }
        } else if (chosenLogprobs) {
            if (chat) {
                o.put("logprobs", true);
            } else {
                o.put("logprobs", 1);
            }
        }
        if (params.constraint() != null) {
            constraint(o, params.constraint());
        }
    }

    /** The settings of {@code params} that no request field carries, by their field names. */
    static List<String> refused(GenerationParams params) {
        SamplingConfig s = params.sampling();
        List<String> out = new ArrayList<>();
        if (!params.addSpecial()) {
            out.add("add_special false (the server tokenizes the prompt, with its BOS)");
        }
        if (s.dynatempRange() > 0) out.add("dynatemp_range");
        if (s.epsilon() > 0) out.add("epsilon");
        if (s.eta() > 0) out.add("eta");
        if (s.topNSigma() > 0) out.add("top_n_sigma");
        if (s.mirostat() > 0) out.add("mirostat");
        if (s.xtcProbability() > 0) out.add("xtc_probability");
        if (s.dryMultiplier() > 0) out.add("dry_multiplier");
        if (s.noRepeatNgram() > 0) out.add("no_repeat_ngram");
        if (!s.stopTokens().isEmpty()) out.add("stop_tokens");
        if (penaltiesOn(s) && s.repeatLastN() != -1) {
            out.add("repeat_last_n " + s.repeatLastN() + " (the API's penalties cover the whole text: set repeat_last_n to -1)");
        }
        for (Map.Entry<Integer, Float> e : new TreeMap<>(s.logitBias()).entrySet()) {
            float b = e.getValue();
            if (b != Float.NEGATIVE_INFINITY && (b < -100 || b > 100)) {
                out.add("logit_bias " + b + " for token " + e.getKey() + " (the API takes [-100, 100], and -inf)");
                break;
            }
        }
        Guidance g = params.guidance();
        if (g.cfgScale() != 1.0) out.add("cfg_scale");
        if (g.amateur() != null) out.add("amateur");
        if (!g.experts().isEmpty()) out.add("experts");
        OutputConstraint c = params.constraint();
        if (c != null) {
            switch (c.kind()) {
                case CHOICE, CONTAINS -> out.add(c.kind().field() + " (write it as a regex)");
                case JSON_SCHEMA -> {
                    if (c.bestEffort()) {
                        out.add("best_effort");
                    }
                }
                default -> { }
            }
        }
        return out;
    }

    private static boolean penaltiesOn(SamplingConfig s) {
        return s.repeatLastN() != 0 && (s.repeatPenalty() != 1 || s.frequencyPenalty() != 0 || s.presencePenalty() != 0);
    }

    private static void constraint(ObjectNode o, OutputConstraint c) {
        switch (c.kind()) {
            case REGEX -> o.put("regex", c.source());
            case GRAMMAR -> o.put("grammar", c.source());
            case JSON_OBJECT -> o.putObject("response_format").put("type", "json_object");
            case JSON_SCHEMA -> {
                JsonNode schema;
                try {
                    schema = JSON.readTree(c.source());
                } catch (IOException e) {
                    throw new MetagenException("json_schema is not valid JSON: " + MetagenException.describe(e));
                }
                ObjectNode rf = o.putObject("response_format");
                rf.put("type", "json_schema");
                ObjectNode js = rf.putObject("json_schema");
                js.put("name", "output");
                js.set("schema", schema);
            }
            default -> throw new AssertionError(c.kind()); // refused above
        }
    }
}
