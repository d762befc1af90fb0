package dev.metagen.core;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every generation field changes the parameters it names, or is refused with its path; nothing is dropped. */
class GenerationFieldsTest {
    static final GenerationParams BASE = new GenerationParams(64, 7, true, List.of("\n\n"), new SamplingConfig(), 0,
            null, Guidance.NONE);

    /** A value for every field that differs from the base (a field that needs a partner gets it in the same map). */
    static Map<String, Map<String, Object>> changes() {
        Map<String, Map<String, Object>> m = new LinkedHashMap<>();
        m.put("max_tokens", Map.of("max_tokens", 8));
        m.put("stop", Map.of("stop", List.of("END")));
        m.put("logprobs", Map.of("logprobs", 3));
        m.put("temperature", Map.of("temperature", 0.5));
        m.put("dynatemp_range", Map.of("dynatemp_range", 0.3));
        m.put("dynatemp_exponent", Map.of("dynatemp_exponent", 2.0));
        m.put("top_k", Map.of("top_k", 5));
        m.put("top_p", Map.of("top_p", 0.5));
        m.put("min_p", Map.of("min_p", 0.2));
        m.put("typical_p", Map.of("typical_p", 0.5));
        m.put("epsilon", Map.of("epsilon", 0.01));
        m.put("eta", Map.of("eta", 0.01));
        m.put("top_n_sigma", Map.of("top_n_sigma", 1.5));
        m.put("mirostat", Map.of("mirostat", 2));
        m.put("mirostat_tau", Map.of("mirostat_tau", 3.0));
        m.put("mirostat_eta", Map.of("mirostat_eta", 0.2));
        m.put("xtc_probability", Map.of("xtc_probability", 0.5));
        m.put("xtc_threshold", Map.of("xtc_threshold", 0.2));
        m.put("dry_multiplier", Map.of("dry_multiplier", 0.8));
        m.put("dry_base", Map.of("dry_base", 2.0));
        m.put("dry_allowed_length", Map.of("dry_allowed_length", 3));
        m.put("dry_penalty_last_n", Map.of("dry_penalty_last_n", 32));
        m.put("dry_sequence_breakers", Map.of("dry_sequence_breakers", List.of(".")));
        m.put("repeat_penalty", Map.of("repeat_penalty", 1.3));
        m.put("frequency_penalty", Map.of("frequency_penalty", 0.5));
        m.put("presence_penalty", Map.of("presence_penalty", 0.5));
        m.put("repeat_last_n", Map.of("repeat_last_n", 16));
        m.put("no_repeat_ngram", Map.of("no_repeat_ngram", 3));
        m.put("logit_bias", Map.of("logit_bias", Map.of("13", "-inf", "42", 1.5)));
        m.put("min_tokens", Map.of("min_tokens", 4));
        m.put("stop_tokens", Map.of("stop_tokens", List.of(5)));
        m.put("samplers", Map.of("samplers", "top_k;temperature"));
        m.put("regex", Map.of("regex", "[0-9]+"));
        m.put("grammar", Map.of("grammar", "root ::= \"a\""));
        m.put("json_schema", Map.of("json_schema", "{\"type\":\"integer\"}"));
        m.put("best_effort", Map.of("json_schema", "{\"type\":\"integer\"}", "best_effort", true));
        m.put("json_object", Map.of("json_object", true));
        m.put("choice", Map.of("choice", List.of("yes", "no")));
        m.put("contains", Map.of("contains", List.of("dog")));
        m.put("cfg_scale", Map.of("cfg_scale", 1.5));
        m.put("cfg_negative_prompt", Map.of("cfg_negative_prompt", "bad"));
        m.put("amateur", Map.of("amateur", "small"));
        m.put("cd_alpha", Map.of("amateur", "small", "cd_alpha", 0.3));
        m.put("experts", Map.of("experts", List.of("a", "b")));
        m.put("expert_weights", Map.of("experts", List.of("a", "b"), "expert_weights", List.of(1.0, -0.5)));
        return m;
    }

    @Test
    void everyFieldIsCoveredAndChangesTheParameters() {
        Map<String, Map<String, Object>> changes = changes();
        assertEquals(GenerationFields.ALL, changes.keySet(), "a field without a case here would go untested");
        for (Map.Entry<String, Map<String, Object>> e : changes.entrySet()) {
            GenerationParams p = GenerationFields.apply(BASE, e.getValue(), "$");
            assertNotEquals(BASE, p, e.getKey() + " changed nothing");
            if (e.getValue().size() > 1) {
                Map<String, Object> partnerOnly = new LinkedHashMap<>(e.getValue());
                partnerOnly.remove(e.getKey());
                assertNotEquals(GenerationFields.apply(BASE, partnerOnly, "$"), p, e.getKey() + " changed nothing beside its partner");
            }
        }
    }

    @Test
    void theOverrideRulesHold() {
        assertEquals(8, GenerationFields.apply(BASE, Map.of("max_tokens", 8), "$").maxTokens());
        assertEquals(64, GenerationFields.apply(BASE, Map.of("max_tokens", 500), "$").maxTokens(), "max_tokens only lowers");
        assertEquals(List.of("\n\n", "END"), GenerationFields.apply(BASE, Map.of("stop", List.of("END")), "$").stop());
        GenerationParams p = GenerationFields.apply(BASE, Map.of("temperature", 0.1, "logit_bias", Map.of("13", "-inf")), "$");
        assertEquals(7, p.seed(), "the seed is the caller's");
        assertEquals(7, p.sampling().seed());
        assertEquals(Float.NEGATIVE_INFINITY, p.sampling().logitBias().get(13));
        assertEquals(0.1, p.temperature());
    }

    @Test
    void badValuesNameTheirField() {
        Map<String, Object> bad = new LinkedHashMap<>();
        bad.put("min_p", 2.0);
        bad.put("top_k", -1);
        bad.put("temperature", "hot");
        bad.put("logit_bias", List.of(1));
        bad.put("stop", "x");
        bad.put("min_q", 0.1);
        for (Map.Entry<String, Object> e : bad.entrySet()) {
            MetagenException x = assertThrows(MetagenException.class,
                    () -> GenerationFields.apply(BASE, Map.of(e.getKey(), e.getValue()), "$.inner"), e.getKey());
            assertTrue(x.getMessage().startsWith("$.inner"), x.getMessage());
            assertTrue(x.getMessage().contains(e.getKey()) || x.getMessage().contains(e.getKey().replace('_', '-')), x.getMessage());
        }
        MetagenException two = assertThrows(MetagenException.class,
                () -> GenerationFields.apply(BASE, Map.of("regex", "a", "choice", List.of("b")), "$"));
        assertTrue(two.getMessage().contains("give exactly one of"), two.getMessage());
        MetagenException alone = assertThrows(MetagenException.class,
                () -> GenerationFields.apply(BASE, Map.of("cd_alpha", 0.2), "$"));
        assertTrue(alone.getMessage().contains("needs an amateur"), alone.getMessage());
    }

    /** llama.cpp's general.sampling.* keys, as a converted Qwen-style generation_config.json gives them. */
    static final Map<String, String> QWEN_LIKE = Map.ofEntries(Map.entry("general.sampling.temp", "0.7"),
            Map.entry("general.sampling.top_p", "0.8"), Map.entry("general.sampling.top_k", "20"),
            Map.entry("general.sampling.penalty_repeat", "1.05"), Map.entry("general.sampling.penalty_last_n", "32"),
            Map.entry("general.sampling.min_p", "0.000000"), Map.entry("general.sampling.sequence", "top_k;top_p;temperature"),
            Map.entry("general.sampling.xtc_probability", "0.25"), Map.entry("general.sampling.xtc_threshold", "0.2"),
            Map.entry("general.sampling.mirostat", "2"), Map.entry("general.sampling.mirostat_tau", "4.5"),
            Map.entry("general.sampling.mirostat_eta", "0.15"));

    @Test
    void everyModelSamplingKeyBecomesTheFieldLlamaCppSetsAndActs() {
        Map<String, Object> d = GenerationFields.modelDefaults(QWEN_LIKE::get);
        assertEquals(GenerationFields.MODEL_SAMPLING_KEYS.size(), d.size(), d.toString());
        assertEquals(List.copyOf(GenerationFields.MODEL_SAMPLING_KEYS.values()), List.copyOf(d.keySet()));
        assertEquals(0.7, d.get("temperature"));
        assertEquals(20, d.get("top_k"));
        assertEquals(32, d.get("repeat_last_n"));
        assertEquals("top_k;top_p;temperature", d.get("samplers"));
        SamplingConfig s = GenerationFields.applyModelDefaults(BASE, d, k -> false).sampling();
        assertEquals(0.7, s.temperature());
        assertEquals(0.8, s.topP());
        assertEquals(20, s.topK());
        assertEquals(0.0, s.minP());
        assertEquals(1.05, s.repeatPenalty());
        assertEquals(32, s.repeatLastN());
        assertEquals(0.25, s.xtcProbability());
        assertEquals(0.2, s.xtcThreshold());
        assertEquals(2, s.mirostat());
        assertEquals(4.5, s.mirostatTau());
        assertEquals(0.15, s.mirostatEta());
        assertEquals(List.of("top_k", "top_p", "temperature"), s.samplers());
        assertTrue(GenerationFields.modelDefaults(k -> null).isEmpty());
    }

    @Test
    void aFieldTheUserGaveKeepsTheUsersValue() {
        GenerationParams user = GenerationFields.apply(BASE, Map.of("temperature", 0.0, "top_k", 3), "$");
        Map<String, Object> d = GenerationFields.modelDefaults(QWEN_LIKE::get);
        SamplingConfig s = GenerationFields.applyModelDefaults(user, d, k -> k.equals("temperature") || k.equals("top_k")).sampling();
        assertEquals(0.0, s.temperature());
        assertEquals(3, s.topK());
        assertEquals(0.8, s.topP()); // not given: the model's
        assertEquals(1.05, s.repeatPenalty());
        assertEquals(user, GenerationFields.applyModelDefaults(user, Map.of(), k -> false));
        assertEquals(user, GenerationFields.applyModelDefaults(user, d, k -> true));
    }

    @Test
    void aBadModelValueIsAnErrorNamingTheKey() {
        MetagenException e = assertThrows(MetagenException.class,
                () -> GenerationFields.modelDefaults(k -> k.equals("general.sampling.top_k") ? "twenty" : null));
        assertEquals("model metadata general.sampling.top_k: 'twenty' is not an integer", e.getMessage());
        MetagenException nan = assertThrows(MetagenException.class,
                () -> GenerationFields.modelDefaults(k -> k.equals("general.sampling.temp") ? "nan" : null));
        assertEquals("model metadata general.sampling.temp: 'nan' is not a finite number", nan.getMessage());
        // a value the sampler chain refuses names the field and where it came from
        Map<String, Object> d = GenerationFields.modelDefaults(k -> k.equals("general.sampling.top_p") ? "1.5" : null);
        MetagenException range = assertThrows(MetagenException.class, () -> GenerationFields.applyModelDefaults(BASE, d, k -> false));
        assertTrue(range.getMessage().startsWith("model generation defaults"), range.getMessage());
        assertTrue(range.getMessage().contains("top-p must be in (0, 1], got 1.5") && range.getMessage().endsWith("(the model's own defaults: override the field)"),
                range.getMessage());
    }
}
